// The files job and snapshot verification on a tree of 20,000 small files, read
// from one loop-mounted ext4 and written to another, with the page cache dropped
// before each run: one copy (or hash) at a time against the default of 8 at once,
// alternating in one run. See bench/RESULTS.md, "files". Needs root (loop mounts).
//
//   node dist/bench/files.js [--files 20000] [--rounds 3] [--out /tmp/sdb-bench-files]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { runFiles } from '../lib/files/run-files.js'
import { verifySnapshot } from '../lib/verify/verify-snapshot.js'
import { machine, median, sh } from './measure.js'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: '/tmp/sdb-bench-files' },
  },
})
const out = path.resolve(values.out)
const count = Number(values.files)
const log = pino({ level: 'silent' })

// Two ext4 filesystems on loop devices: the station's tree, and the NAS.
function mounted(name: string, mib: number): { dir: string; detach: () => void } {
  const img = path.join(out, `${name}.img`)
  const dir = path.join(out, name)
  mkdirSync(dir, { recursive: true })
  sh(`truncate -s ${mib}M '${img}' && mkfs.ext4 -q -F -N ${count * 2 + 1000} '${img}'`)
  const dev = sh(`losetup -f --show '${img}'`).trim()
  sh(`mount '${dev}' '${dir}'`)
  return { dir, detach: () => sh(`umount '${dir}'; losetup -d '${dev}'`) }
}

const dropCaches = () => sh('sync; echo 3 > /proc/sys/vm/drop_caches')

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const src = mounted('station', 1024)
const nas = mounted('nas', 2048)
try {
  // 200 directories of 100 files, 1-8 KiB each (config files, scripts, small data).
  const home = path.join(src.dir, 'home')
  for (let d = 0; d < count / 100; d++) {
    const dir = path.join(home, `d${d}`)
    mkdirSync(dir, { recursive: true })
    for (let f = 0; f < 100; f++)
      writeFileSync(path.join(dir, `f${f}.conf`), Buffer.alloc(1024 + ((d * 100 + f) % 8) * 1024, d + f))
  }
  const copyTimes = new Map<number, number[]>()
  const hashTimes = new Map<number, number[]>()
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const copies of [1, 8]) {
      const station = `s${copies}-${round}`
      dropCaches()
      const t0 = process.hrtime.bigint()
      const m = await runFiles(
        { paths: [home], excludes: [], dest: nas.dir, mount: undefined, station },
        { log, copies },
      )
      const t1 = process.hrtime.bigint()
      if (!m || m.entries.filter((e) => e.type === 'file').length !== count)
        throw new Error(`run ${station} copied the wrong tree`)
      copyTimes.set(copies, [...(copyTimes.get(copies) ?? []), Number(t1 - t0) / 1e9])
      dropCaches()
      const v0 = process.hrtime.bigint()
      await verifySnapshot(path.join(nas.dir, station, 'files', m.snapshot), { concurrency: copies })
      hashTimes.set(copies, [...(hashTimes.get(copies) ?? []), Number(process.hrtime.bigint() - v0) / 1e9])
      rmSync(path.join(nas.dir, station), { recursive: true, force: true })
    }
  }
  const row = (what: string, times: Map<number, number[]>) => {
    const one = median(times.get(1)!)
    const eight = median(times.get(8)!)
    return `| ${what} | ${one.toFixed(2)} s | ${eight.toFixed(2)} s | ${(eight / one).toFixed(3)} |`
  }
  console.log(
    `${machine()}\n${count} files, ${values.rounds} rounds alternating, page cache dropped before each run, medians:\n`,
  )
  console.log('| | 1 at a time | 8 at a time | ratio |\n|---|---:|---:|---:|')
  console.log(row('files job (copy)', copyTimes))
  console.log(row('verify snapshot (hash)', hashTimes))
} finally {
  nas.detach()
  src.detach()
}
