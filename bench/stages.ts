// Cycles per byte of each stage of the default image job, one thread each, on the
// data a card really holds (a sample of the 1 MiB chunks of its used blocks), then
// the projection for a big card on a Pi 4 and a Pi 5 from those numbers. Read only.
// See bench/RESULTS.md.
//
//   node dist/bench/stages.js --image card.img [--sample 256M] [--card-gb 238] [--used-gb 40]
//   sudo node dist/bench/stages.js --image /dev/mmcblk0   (on the station: its own numbers)
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { crc32, inflateRawSync } from 'node:zlib'
import { BufferPool } from '../lib/workers/buffer-pool.js'
import { handleReader } from '../lib/image/layout/byte-reader.js'
import { planReads } from '../lib/image/layout/plan-reads.js'
import { readUsedChunks } from '../lib/image/read-used.js'
import { openSource, readChunks } from '../lib/image/read-source.js'
import { parseSize } from '../lib/util/size.js'
import { machine, sh } from './measure.js'
import { deflateChunk } from '../lib/codec/gzip.js'

const { values } = parseArgs({
  options: {
    image: { type: 'string' },
    sample: { type: 'string', default: '256M' },
    'card-gb': { type: 'string', default: '238' },
    'used-gb': { type: 'string', default: '40' },
    level: { type: 'string', default: '6' },
    mhz: { type: 'string' },
    'sha-only': { type: 'string' }, // internal: MiB/s of SHA-256 in this process (run with OPENSSL_ia32cap)
  },
})
const CHUNK = 2 ** 20
const level = Number(values.level)

// Runs fn over the sample until at least 2 s have passed; MiB/s of `bytes` per pass.
function rate(
  sample: readonly Buffer[],
  fn: (b: Buffer) => unknown,
  bytesOf: (b: Buffer) => number = (b) => b.length,
): number {
  let bytes = 0
  const t0 = process.hrtime.bigint()
  let s = 0
  do {
    for (const b of sample) {
      fn(b)
      bytes += bytesOf(b)
    }
    s = Number(process.hrtime.bigint() - t0) / 1e9
  } while (s < 2)
  return bytes / 2 ** 20 / s
}

if (values['sha-only']) {
  const sample = Array.from({ length: 64 }, (_, i) => Buffer.alloc(CHUNK, i + 1))
  console.log(rate(sample, (b) => createHash('sha256').update(b).digest()))
  process.exit(0)
}
if (!values.image) {
  console.error('usage: stages.js --image card.img [--sample 256M] [--card-gb 238] [--used-gb 40]')
  process.exit(2)
}

// 1. The used data: what the image job reads by default (the plan's extents), as
// chunks; a uniform sample of the ones that are not all zeros (reservoir sampling,
// fixed seed), so the boot partition's text and the recordings at the end weigh
// as they do on the card. Read only: nothing is written anywhere.
const source = await openSource(path.resolve(values.image))
const plan = await planReads(handleReader(source))
const pool = new BufferPool(CHUNK, 1)
const chunks =
  plan.scheme === 'none'
    ? readChunks(source, source.size, CHUNK, pool)
    : readUsedChunks(source, plan.extents(), CHUNK, pool)
const want = Math.max(1, Math.floor(parseSize('sample', values.sample) / CHUNK))
const sample: Buffer[] = []
let seen = 0
let seed = 42
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
const zero = Buffer.alloc(CHUNK)
for await (const c of chunks) {
  if (!c.zero && c.data.length === CHUNK && !c.data.equals(zero)) {
    seen++
    if (sample.length < want) sample.push(Buffer.from(c.data))
    else {
      const k = Math.floor(random() * seen)
      if (k < want) sample[k] = Buffer.from(c.data)
    }
  }
  if (!c.zero) pool.release(c.data)
}
await source.handle.close()
const sampleMiB = sample.length

// 2. Each stage, one thread.
// The clock: x86 lists it in /proc/cpuinfo, ARM (the Pi) in cpufreq; --mhz overrides both.
const cpufreq = sh('cat /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq 2>/dev/null || true').trim()
const mhz = Number(
  values.mhz ?? /cpu MHz\s*:\s*([\d.]+)/.exec(sh('cat /proc/cpuinfo'))?.[1] ?? (cpufreq ? Number(cpufreq) / 1000 : NaN),
)
const bodies = sample.map((b) => Buffer.from(deflateChunk(b, level).body))
const ratio = bodies.reduce((n, b) => n + b.length, 0) / (sample.length * CHUNK)
const shaOff = Number(
  spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--sha-only', '1'], {
    env: { ...process.env, OPENSSL_ia32cap: ':~0x20000000', OPENSSL_armcap: '0' },
    encoding: 'utf8',
  }).stdout.trim(),
)
const copy = Buffer.allocUnsafe(CHUNK)
const stages: Array<[string, number]> = [
  ['read (page cache, a copy)', rate(sample, (b) => b.copy(copy))],
  [`deflate, level ${level}`, rate(sample, (b) => deflateChunk(b, level))],
  ['CRC-32', rate(sample, (b) => crc32(b))],
  ['SHA-256, SHA instructions', rate(sample, (b) => createHash('sha256').update(b).digest())],
  ['SHA-256, none (Cortex-A72 stand-in)', shaOff],
  [
    'inflate (per decoded byte)',
    rate(
      bodies,
      (b) => inflateRawSync(b, { chunkSize: CHUNK + 1 }),
      () => CHUNK,
    ),
  ],
  // On chunks of zeros, its worst case: every byte compared.
  [
    'zero detection (a chunk of zeros)',
    rate(
      Array.from({ length: 64 }, () => Buffer.alloc(CHUNK)),
      (b) => b.equals(zero),
    ),
  ],
]
const cpb = (mibs: number) => (mhz * 1e6) / (mibs * 2 ** 20)
console.log(`machine: ${machine()}, ${mhz} MHz`)
console.log(
  `sample: ${sampleMiB} MiB drawn evenly from the ${seen} MiB of the card's used data (non-zero chunks of its ` +
    `image); deflate keeps ${(ratio * 100).toFixed(1)} %`,
)
console.log('stage                                   MiB/s/thread   cycles/byte')
for (const [name, r] of stages)
  console.log(`${name.padEnd(38)} ${r.toFixed(0).padStart(12)} ${cpb(r).toFixed(2).padStart(13)}`)

// 3. The projection: the default job on a big card, each stage's time, the slowest
// of the parallel ones bounds each phase (imaging, then verification).
const c = Object.fromEntries(stages.map(([n, r]) => [n, cpb(r)])) as Record<string, number>
const used = Number(values['used-gb']) * 1e9
const card = Number(values['card-gb']) * 1e9
const out = used * ratio + ((card - used) / 2 ** 20) * 1030 // free space: ~1 KiB of member per MiB of zeros
const pis = [
  {
    name: 'Pi 4 (4 x Cortex-A72 1.8 GHz, no SHA-256 instructions, SD 45 MB/s, Gigabit 110 MB/s)',
    ghz: 1.8,
    cores: 4,
    sd: 45e6,
    net: 110e6,
    sha: c['SHA-256, none (Cortex-A72 stand-in)']!,
  },
  {
    name: 'Pi 5 (4 x Cortex-A76 2.4 GHz, SHA-256 instructions, SD 90 MB/s, Gigabit 110 MB/s)',
    ghz: 2.4,
    cores: 4,
    sd: 90e6,
    net: 110e6,
    sha: c['SHA-256, SHA instructions']!,
  },
]
console.log(
  `\nprojection: ${values['card-gb']} GB card holding ${values['used-gb']} GB, image ≈ ` +
    `${(out / 1e9).toFixed(1)} GB; cycles per byte as measured here`,
)
const min = (s: number) => `${(s / 60).toFixed(1)} min`
for (const p of pis) {
  const hz = p.ghz * 1e9 * p.cores
  const imaging = {
    'SD read': used / p.sd,
    'deflate + CRC-32 + SHA-256 on the workers': (used * (c[`deflate, level ${level}`]! + c['CRC-32']! + p.sha)) / hz,
    'NFS write': out / p.net,
  }
  const verifying = {
    'NFS read-back': out / p.net,
    'inflate + CRC-32 + SHA-256 on the workers':
      (used * (c['inflate (per decoded byte)']! + c['CRC-32']! + p.sha)) / hz,
  }
  const bound = (phase: Record<string, number>) => Object.entries(phase).sort((a, b) => b[1] - a[1])[0]!
  const [ib, is] = bound(imaging)
  const [vb, vs] = bound(verifying)
  console.log(`${p.name}:`)
  console.log(
    `  imaging ${min(is)}, bound by ${ib} (${Object.entries(imaging)
      .map(([k, v]) => `${k} ${min(v)}`)
      .join(', ')})`,
  )
  console.log(
    `  verification ${min(vs)}, bound by ${vb} (${Object.entries(verifying)
      .map(([k, v]) => `${k} ${min(v)}`)
      .join(', ')})`,
  )
  console.log(`  default job ≈ ${min(is + vs)}`)
  // Cycles per byte here are a Xeon's: a Cortex core needs more. How many times more before the workers bound imaging:
  const cpu = imaging['deflate + CRC-32 + SHA-256 on the workers']
  const io = Math.max(imaging['SD read'], imaging['NFS write'])
  console.log(
    `  the workers bound imaging once this Pi needs ${(io / cpu).toFixed(1)} x the cycles per byte measured ` +
      `here (run stages.js on the Pi to know)`,
  )
}
