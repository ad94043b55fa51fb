// sd-backup image vs `dd bs=4M | pigz -p N` on the same image, side by side in one
// run (alternating, median of --rounds), as ratios: the machine may be busy, so only
// ratios taken in one run mean anything. See bench/RESULTS.md.
//
//   node dist/bench/compare.js --image card.img [--workers 2] [--level 6] [--chunk-size 4M]
//        [--rounds 3] [--out DIR] [--zlib-single]   (also measure one-stream Node zlib)
//        [--with-verify]   (include the read-back verification sd-backup does by default)
//        [--full]          (read every byte, the old mode; default: used blocks only)
//        [--floor]         (also time the floor: bench/tune.js reading and compressing the
//                           same bytes on the same threads, nothing written, nothing verified)
import { mkdirSync, rmSync } from 'node:fs'
import { cpus } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { parseSize } from '../lib/util/size.js'
import { machine, median, rootDigest, sh, timed, type Run } from './measure.js'

const { values } = parseArgs({
  options: {
    image: { type: 'string' },
    workers: { type: 'string', default: '2' },
    level: { type: 'string', default: '6' },
    'chunk-size': { type: 'string', default: '4M' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: '/tmp/sdb-bench-out' },
    'zlib-single': { type: 'boolean', default: false },
    // pigz does not read its output back: by default the image is compared like for
    // like (--no-verify); --with-verify times sd-backup's default, read-back included.
    'with-verify': { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
  },
})
if (!values.image) {
  console.error(
    'usage: compare.js --image card.img [--workers 2] [--level 6] [--chunk-size 4M] [--rounds 3] [--out DIR] ' +
      '[--zlib-single]',
  )
  process.exit(2)
}
const image = path.resolve(values.image)
const { workers, level } = values
const out = values.out
const cli = fileURLToPath(new URL('../bin/sd-backup.js', import.meta.url))
const rawBytes = Number(sh(`stat -c %s '${image}'`))
const mib = rawBytes / 2 ** 20

sh(`cat '${image}' > /dev/null`) // both read from the page cache: this compares CPU, not the disk
const runs: Record<string, Run[]> = { pigz: [], 'sd-backup': [], floor: [] }
const tune = fileURLToPath(new URL('./tune.js', import.meta.url))
for (let i = 0; i < Number(values.rounds); i++) {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const gz = path.join(out, 'pigz.img.gz')
  runs.pigz!.push(timed('pigz', `dd if='${image}' bs=4M status=none | pigz -p ${workers} -${level} > '${gz}'`, gz))
  const dest = path.join(out, 'nas')
  const ours = path.join(dest, 'bench', 'images', `bench-${sh('date +%F').trim()}.img.gz`)
  runs['sd-backup']!.push(
    timed(
      'sd-backup',
      `node '${cli}' image --device '${image}' --dest '${dest}' --station bench --workers ${workers} --level ` +
        `${level} --chunk-size ` +
        `${values['chunk-size']}${values['with-verify'] ? '' : ' --no-verify'}${values.full ? ' --full' : ''} ` +
        `> /dev/null`,
      ours,
    ),
  )
  if (values.floor) {
    const chunk = parseSize('chunk-size', values['chunk-size'])
    runs.floor!.push(
      timed(
        'floor',
        `node '${tune}' --device '${image}' --sample ${rawBytes}${values.full ? ' --full' : ''} --one ` +
          `${chunk},${workers},${level} > /dev/null`,
        image,
      ),
    )
  }
  if (i === 0) {
    // pigz (and --full) must give the card back; used-block mode the image its manifest
    // describes (free blocks zeroed), of the card's size, with every filesystem clean.
    const card = sh(`sha256sum < '${image}'`).split(' ')[0]
    const manifest = JSON.parse(sh(`cat '${ours}.manifest.json'`)) as {
      raw: { root: string; bytes: number }
      members: unknown[][]
      layout?: { partitions: Array<{ start: number; size: number; fs: string | null }> }
    }
    if (sh(`pigz -dc '${gz}' | sha256sum`).split(' ')[0] !== card)
      throw new Error(`${gz} does not decompress to the card`)
    const decoded = path.join(out, 'ours.img')
    sh(`pigz -dc '${ours}' > '${decoded}'`)
    if (values.full && sh(`sha256sum < '${decoded}'`).split(' ')[0] !== card)
      throw new Error(`${ours} does not decompress to the card`)
    if (rootDigest(decoded, manifest.members) !== manifest.raw.root)
      throw new Error(`${ours} does not decompress to the image its manifest describes`)
    rmSync(decoded)
    if (manifest.raw.bytes !== rawBytes) throw new Error(`${ours} is not the card's size`)
    for (const p of manifest.layout?.partitions ?? []) {
      if (!p.fs?.startsWith('ext')) continue
      const part = path.join(out, 'part.img')
      sh(
        `pigz -dc '${ours}' | tail -c +${p.start + 1} | head -c ${p.size} > '${part}' && e2fsck -fn '${part}' > ` +
          `/dev/null && rm '${part}'`,
      )
    }
  }
}

const row = (name: string) => {
  const r = runs[name]!
  return { seconds: median(r.map((x) => x.seconds)), rss: median(r.map((x) => x.peakRssMiB)), bytes: r[0]!.outBytes }
}
const p = row('pigz')
const s = row('sd-backup')
console.log(`machine: ${machine()} (${cpus().length} cpus)`)
console.log(`mode: ${values.full ? '--full (every byte)' : 'used blocks (default)'}`)
console.log(
  `image: ${image}, ${mib.toFixed(0)} MiB; workers ${workers}, level ${level}, chunk ${values['chunk-size']}; ` +
    `median of ${values.rounds} alternating rounds`,
)
console.log('tool        wall s   MiB/s   output MiB   saved %   peak RSS MiB')
for (const [name, r] of [
  ['dd|pigz', p],
  ['sd-backup', s],
] as const) {
  console.log(
    `${name.padEnd(10)} ${r.seconds.toFixed(1).padStart(7)} ${(mib / r.seconds).toFixed(1).padStart(7)} ` +
      `${(r.bytes / 2 ** 20).toFixed(1).padStart(12)} ` +
      `${(100 * (1 - r.bytes / rawBytes)).toFixed(1).padStart(9)} ${r.rss.toFixed(0).padStart(14)}`,
  )
}
console.log(
  `ratios sd-backup / pigz: wall ${(s.seconds / p.seconds).toFixed(3)}, output ` +
    `${(s.bytes / p.bytes).toFixed(4)}, rss ${(s.rss / p.rss).toFixed(1)}`,
)
if (values.floor) {
  const f = median(runs.floor!.map((x) => x.seconds))
  console.log(
    `floor (read + deflate + member digests of the same bytes, nothing written or verified): ${f.toFixed(1)} s ` +
      `= wall ${(f / p.seconds).toFixed(3)} x pigz`,
  )
}

if (values['zlib-single']) {
  // Splits the output gap into Node's zlib itself vs the cost of independent members.
  const single = path.join(out, 'node-single.gz')
  const r = timed(
    'node zlib',
    `node -e "const z=require('zlib'),fs=require('fs');require('stream').pipeline(fs.createReadStream('${image}'),z.createGzip({level:${level}}),fs.createWriteStream('${single}'),e=>{if(e)throw e})"`,
    single,
  )
  console.log(
    `node zlib, one stream: ${(r.outBytes / 2 ** 20).toFixed(1)} MiB = ${(r.outBytes / p.bytes).toFixed(4)} x ` +
      `pigz (the library); members add ${(s.bytes / r.outBytes).toFixed(4)} x on top`,
  )
}
