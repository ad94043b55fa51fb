// The default image job (used blocks, then the read-back verification) on the same
// data in a small card and in that card grown the way a Pi's first boot grows it
// (bench/grow-card.sh), with and without SHA instructions (OPENSSL_ia32cap, the Pi 4
// stand-in), alternating in one run: the wall ratio grown / small says whether the
// free space costs anything. See bench/RESULTS.md.
//
//   node dist/bench/grown.js --small card3.img --grown card64.img [--workers 2] [--rounds 3]
import { rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { machine, median, sh, timed, type Run } from './measure.js'

const { values } = parseArgs({
  options: {
    small: { type: 'string' },
    grown: { type: 'string' },
    workers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: '/tmp/sdb-bench-grown' },
  },
})
if (!values.small || !values.grown) {
  console.error('usage: grown.js --small card.img --grown grown.img [--workers 2] [--rounds 3] [--out DIR]')
  process.exit(2)
}
const cli = fileURLToPath(new URL('../bin/sd-backup.js', import.meta.url))
const cards = { small: path.resolve(values.small), grown: path.resolve(values.grown) }
// OpenSSL's capability mask with the SHA extensions bit cleared: SHA-256 in plain code, as on a Cortex-A72.
const hashModes = { 'SHA instructions': '', 'no SHA instructions': 'OPENSSL_ia32cap=":~0x20000000" ' }
const runs = new Map<string, Run[]>()
const manifests = new Map<string, number>()

// Sparse: cheap, and both start from the page cache.
for (const card of Object.values(cards)) sh(`cat '${card}' > /dev/null`)
for (let i = 0; i < Number(values.rounds); i++) {
  for (const [mode, env] of Object.entries(hashModes)) {
    for (const [name, card] of Object.entries(cards)) {
      const dest = path.join(values.out, 'nas')
      rmSync(values.out, { recursive: true, force: true })
      const image = path.join(dest, 'bench', 'images', `bench-${sh('date +%F').trim()}.img.gz`)
      const key = `${mode}|${name}`
      const r = timed(
        key,
        `${env}node '${cli}' image --device '${card}' --dest '${dest}' --station bench --workers ` +
          `${values.workers} > /dev/null`,
        image,
      )
      runs.set(key, [...(runs.get(key) ?? []), r])
      manifests.set(name, statSync(`${image}.manifest.json`).size)
    }
  }
}
rmSync(values.out, { recursive: true, force: true })

const gib = (f: string) => statSync(f).size / 2 ** 30
console.log(`machine: ${machine()}`)
console.log(
  `small: ${cards.small} (${gib(cards.small).toFixed(1)} GiB), grown: ${cards.grown} ` +
    `(${gib(cards.grown).toFixed(1)} GiB); workers ${values.workers}; median of ${values.rounds} alternating rounds`,
)
console.log('hashing               card    wall s   output MiB   manifest KiB   peak RSS MiB')
for (const mode of Object.keys(hashModes)) {
  const row = (name: 'small' | 'grown') => {
    const r = runs.get(`${mode}|${name}`)!
    return { s: median(r.map((x) => x.seconds)), rss: Math.max(...r.map((x) => x.peakRssMiB)), out: r[0]!.outBytes }
  }
  const small = row('small')
  const grown = row('grown')
  for (const [name, r] of [
    ['small', small],
    ['grown', grown],
  ] as const) {
    console.log(
      `${mode.padEnd(20)} ${name.padStart(6)} ${r.s.toFixed(1).padStart(9)} ` +
        `${(r.out / 2 ** 20).toFixed(1).padStart(12)} ${(manifests.get(name)! / 1024).toFixed(0).padStart(14)} ` +
        `${r.rss.toFixed(0).padStart(14)}`,
    )
  }
  console.log(
    `${mode}: wall grown / small ${(grown.s / small.s).toFixed(3)}, peak RSS grown / small ` +
      `${(grown.rss / small.rss).toFixed(3)}`,
  )
}
