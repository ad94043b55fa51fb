// `sd-backup verify` vs `gzip -t` (and `pigz -t` for context) on the same .img.gz,
// side by side in one run (alternating, median of --rounds), as a throughput ratio.
// The image is made from the bench card first. See bench/RESULTS.md (issue 4 target:
// verify with 2 workers >= 1.8 x the throughput of gzip -t).
//
//   node dist/bench/verify.js --image card.img [--workers 2] [--rounds 3] [--out DIR]
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { machine, median, sh, timed, type Run } from './measure.js'

const { values } = parseArgs({
  options: {
    image: { type: 'string' },
    workers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: '/tmp/sdb-bench-verify' },
  },
})
if (!values.image) {
  console.error('usage: verify.js --image card.img [--workers 2] [--rounds 3] [--out DIR]')
  process.exit(2)
}
const card = path.resolve(values.image)
const cli = fileURLToPath(new URL('../bin/sd-backup.js', import.meta.url))
rmSync(values.out, { recursive: true, force: true })
mkdirSync(values.out, { recursive: true })
sh(
  `node '${cli}' image --device '${card}' --dest '${values.out}' --station bench --workers ${values.workers} ` +
    `--no-verify --log-level warn`,
)
const dir = path.join(values.out, 'bench/images')
const gz = path.join(
  dir,
  readdirSync(dir).find((n) => n.endsWith('.img.gz'))!,
)
const rawMiB = Number(sh(`stat -c %s '${card}'`)) / 2 ** 20
sh(`cat '${gz}' > /dev/null`) // every tool reads the .gz from the page cache: this compares CPU

const runs: Record<string, Run[]> = { 'gzip -t': [], 'pigz -t': [], 'sd-backup verify': [] }
for (let i = 0; i < Number(values.rounds); i++) {
  runs['gzip -t']!.push(timed('gzip -t', `gzip -t '${gz}'`, gz))
  runs['pigz -t']!.push(timed('pigz -t', `pigz -t '${gz}'`, gz))
  runs['sd-backup verify']!.push(
    timed('sd-backup verify', `node '${cli}' verify '${gz}' --workers ${values.workers} > /dev/null`, gz),
  )
}
const med = (name: string) => ({
  s: median(runs[name]!.map((r) => r.seconds)),
  rss: Math.max(...runs[name]!.map((r) => r.peakRssMiB)),
})
console.log(`machine: ${machine()}`)
console.log(`image: ${gz} (${rawMiB.toFixed(0)} MiB raw), workers ${values.workers}, median of ${values.rounds}`)
console.log('| tool | wall s | raw MiB/s | peak RSS MiB |\n|---|---:|---:|---:|')
for (const name of Object.keys(runs)) {
  const m = med(name)
  console.log(`| ${name} | ${m.s.toFixed(2)} | ${(rawMiB / m.s).toFixed(1)} | ${m.rss.toFixed(0)} |`)
}
console.log(
  `throughput sd-backup verify / gzip -t: ${(med('gzip -t').s / med('sd-backup verify').s).toFixed(2)} (target >= 1.8)`,
)
console.log(`throughput sd-backup verify / pigz -t: ${(med('pigz -t').s / med('sd-backup verify').s).toFixed(2)}`)
