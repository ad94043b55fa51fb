// Sweeps chunk size x workers x level against a card (or image), read-only: the
// compressed bytes are counted and dropped, nothing is written anywhere. Each setting
// runs in its own process so its peak RSS is its own. Prints a table and a
// recommendation for /etc/sd-backup/sd-backup.conf.
// By default it samples what the image job reads by default: the blocks the
// filesystems use (the first --sample bytes of them, the rest of the card as
// zeros, as the job writes it); --full samples the first bytes of the card.
// MiB/s counts the bytes read, the cost that follows the data.
//
//   sudo node dist/bench/tune.js --device /dev/mmcblk0 [--sample 1G] [--chunks 1M,2M,4M,8M]
//        [--workers 1,2,4] [--levels 1,6,9] [--max-rss 150] [--full]
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compressSource } from '../lib/image/compress-source.js'
import { handleReader } from '../lib/image/layout/byte-reader.js'
import type { Extent } from '../lib/util/extent.js'
import { planReads } from '../lib/image/layout/plan-reads.js'
import { openSource } from '../lib/image/read-source.js'
import { detectRootDisk } from '../lib/system/root-disk.js'
import { parseSize } from '../lib/util/size.js'
import { machine, sh, timed } from './measure.js'

const { values } = parseArgs({
  options: {
    device: { type: 'string' },
    sample: { type: 'string', default: '1G' },
    chunks: { type: 'string', default: '1M,2M,4M,8M' },
    workers: { type: 'string', default: [...new Set([1, 2, cpus().length])].join(',') },
    levels: { type: 'string', default: '1,6,9' },
    'max-rss': { type: 'string', default: '150' },
    full: { type: 'boolean', default: false },
    one: { type: 'string' }, // internal: run one setting "chunk,workers,level" and print its result
  },
})
const device = values.device ?? detectRootDisk()
const sample = parseSize('sample', values.sample)

if (values.one) {
  const [chunk, workers, level] = values.one.split(',').map(Number) as [number, number, number]
  const source = await openSource(device)
  let out = 0
  let read = 0
  const t0 = process.hrtime.bigint()
  const plan = values.full ? undefined : await planReads(handleReader(source))
  const used = plan && plan.scheme !== 'none' ? firstBytes(plan.extents(), sample) : undefined
  await compressSource(
    source,
    { chunkSize: chunk, workers, level, codec: 'gzip', ...(used ? { extents: used } : { limit: sample }) },
    {
      onRead(c) {
        read += c.mapped ? c.mapped.reduce((n, e) => n + (e.zero ? 0 : e.end - e.start), 0) : c.data.length
      },
      async write(m) {
        out += m.length
      },
    },
  )
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  await source.handle.close()
  console.log(JSON.stringify({ raw: read, out, seconds }))
  process.exit(0)
}

// The used extents up to `limit` bytes read; the rest of the card is free space then.
async function* firstBytes(extents: AsyncIterable<Extent>, limit: number): AsyncGenerator<Extent> {
  let left = limit
  for await (const e of extents) {
    if (left <= 0) return
    if (e.zero) {
      yield e
      continue
    }
    const end = Math.min(e.end, e.start + left)
    left -= end - e.start
    yield { start: e.start, end }
  }
}

const self = fileURLToPath(import.meta.url)
const tmpJson = `/tmp/sdb-tune.${process.pid}.json`
console.log(`machine: ${machine()}`)
console.log(
  `source: ${device} (read only), first ${values.sample} ` +
    `${values.full ? 'of the card' : 'of the blocks the filesystems use'}`,
)
// One discarded run first: the page cache then holds the sample for every setting alike.
sh(
  `node '${self}' --device '${device}' --sample ${sample}${values.full ? ' --full' : ''} --one ` +
    `${parseSize('chunks', values.chunks.split(',')[0]!)},1,1 > /dev/null`,
)
console.log('chunk     workers  level   MiB/s   saved %   peak RSS MiB')
const results: Array<{ chunk: string; workers: number; level: number; mibs: number; saved: number; rss: number }> = []
for (const level of values.levels.split(',').map(Number)) {
  for (const workers of values.workers.split(',').map(Number)) {
    for (const chunk of values.chunks.split(',')) {
      const bytes = parseSize('chunks', chunk)
      const r = timed(
        'tune',
        `node '${self}' --device '${device}' --sample ${sample}${values.full ? ' --full' : ''} --one ` +
          `${bytes},${workers},${level} > ${tmpJson}`,
        '/dev/null',
      )
      const one = JSON.parse(sh(`cat ${tmpJson}; rm -f ${tmpJson}`)) as { raw: number; out: number; seconds: number }
      const res = {
        chunk,
        workers,
        level,
        mibs: one.raw / 2 ** 20 / one.seconds,
        saved: 100 * (1 - one.out / one.raw),
        rss: r.peakRssMiB,
      }
      results.push(res)
      console.log(
        `${chunk.padEnd(9)} ${String(workers).padStart(7)} ${String(level).padStart(6)} ` +
          `${res.mibs.toFixed(1).padStart(7)} ${res.saved.toFixed(1).padStart(9)} ${res.rss.toFixed(0).padStart(14)}`,
      )
    }
  }
}
const maxRss = Number(values['max-rss'])
const fits = results.filter((r) => r.rss <= maxRss)
const best = (level: number) => fits.filter((r) => r.level === level).sort((a, b) => b.mibs - a.mibs)[0]
const rec = best(6) ?? fits.sort((a, b) => b.mibs - a.mibs)[0]
if (!rec) {
  console.log(`no setting stayed under ${maxRss} MiB RSS: try smaller --chunks or fewer --workers`)
  process.exit(1)
}
console.log(
  `\nrecommended (fastest at level ${rec.level} within ${maxRss} MiB RSS): ${rec.mibs.toFixed(1)} MiB/s, ` +
    `${rec.saved.toFixed(1)} % saved`,
)
console.log(`  [image]\n  chunk-size = ${rec.chunk}\n  workers = ${rec.workers}\n  level = ${rec.level}`)
for (const level of [1, 9]) {
  const b = best(level)
  if (b)
    console.log(
      `  level ${level} instead: ${b.mibs.toFixed(1)} MiB/s, ${b.saved.toFixed(1)} % saved (chunk ${b.chunk}, ` +
        `${b.workers} workers)`,
    )
}
