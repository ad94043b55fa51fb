import t from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { image, mixedContent, sh, sha256File } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

t.test('a slow destination never lets more than 2 x workers chunks into memory', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  const chunk = 256 * 1024
  writeFileSync(src, mixedContent(96 * chunk, 11))
  const rssBefore = process.memoryUsage().rss
  let peakRss = 0
  let writes = 0
  const r = await image(dir, src, { workers: 2, chunkSize: chunk }, {
    beforeWrite: async () => {
      writes++
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
      await sleep(15) // a NAS that takes its time with every write
    },
  })
  t.equal(writes, 96)
  t.ok(r.peakChunksInMemory <= 4, `peak ${r.peakChunksInMemory} chunk buffers <= 2 x 2 workers`)
  t.ok(r.peakChunksInMemory >= 2, 'the pipeline did keep chunks in flight')
  // 24 MiB of source went through; memory grows by the bounded set, not by the source.
  t.ok(peakRss - rssBefore < 20 * 2 ** 20, `rss grew ${((peakRss - rssBefore) / 2 ** 20).toFixed(1)} MiB`)
  t.equal(sh(`gzip -dc '${r.file}' | sha256sum`).split(' ')[0], await sha256File(src))
})
