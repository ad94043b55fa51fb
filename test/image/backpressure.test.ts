import t from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { image, mixedContent, sh, sha256File } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'gzip')

test('a slow destination never lets more than 2 x workers chunks into memory', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  const chunk = 256 * 1024
  const chunks = 400 // 100 MiB: far more than the bound, so buffering would show
  writeFileSync(src, mixedContent(chunks * chunk, 11))
  let rssAtFirstWrite = 0
  let peakRss = 0
  let writes = 0
  const r = await image(
    dir,
    src,
    { workers: 2, chunkSize: chunk },
    {
      beforeWrite: async () => {
        const rss = process.memoryUsage().rss
        if (writes++ === 0) rssAtFirstWrite = rss // workers are up and loaded by now
        peakRss = Math.max(peakRss, rss)
        await sleep(4) // a NAS that takes its time with every write
      },
    },
  )
  t.equal(writes, chunks)
  t.ok(r.peakChunksInMemory <= 4, `peak ${r.peakChunksInMemory} chunk buffers <= 2 x 2 workers`)
  t.ok(r.peakChunksInMemory >= 2, 'the pipeline did keep chunks in flight')
  const grew = (peakRss - rssAtFirstWrite) / 2 ** 20
  t.ok(grew < 40, `rss grew ${grew.toFixed(1)} MiB while 100 MiB went through a slow writer`)
  t.equal(sh(`gzip -dc '${r.file}' | sha256sum`).split(' ')[0], await sha256File(src))
})
