import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync, statSync } from 'node:fs'

// One timed command: wall seconds and peak RSS, as GNU time measures them (the
// largest of the command and the children it waited for).
export interface Run {
  readonly name: string
  readonly seconds: number
  readonly peakRssMiB: number
  readonly outBytes: number
}

// Runs `bash -c cmd` under /usr/bin/time; throws with stderr if it fails.
export function timed(name: string, cmd: string, outFile: string): Run {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'bash', '-o', 'pipefail', '-c', cmd], { encoding: 'utf8' })
  const last = r.stderr.trim().split('\n').at(-1) ?? ''
  const m = /^([\d.]+) (\d+)$/.exec(last)
  if (r.status !== 0 || !m) throw new Error(`${name} failed (${r.status}): ${r.stderr}`)
  return { name, seconds: Number(m[1]), peakRssMiB: Number(m[2]) / 1024, outBytes: statSync(outFile).size }
}

export function sh(cmd: string): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`)
  return r.stdout
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

// The machine the numbers came from, for bench/RESULTS.md.
export function machine(): string {
  const cpu = /model name\s*:\s*(.*)/.exec(sh('cat /proc/cpuinfo'))?.[1] ?? 'unknown cpu'
  return `${cpu}, ${sh('nproc').trim()} cores, Node ${process.version}, ${sh('pigz --version 2>&1').trim()}`
}

// The root digest manifest version 2 records, computed from a raw image file: SHA-256
// of each member's range, then SHA-256 of those digests (the bench's own check).
export function rootDigest(rawFile: string, members: ReadonlyArray<readonly unknown[]>): string {
  const fd = openSync(rawFile, 'r')
  const root = createHash('sha256')
  const buf = Buffer.alloc(4 * 2 ** 20)
  try {
    let at = 0
    for (const e of members) {
      const len = e[2] as number
      const h = createHash('sha256')
      for (let done = 0; done < len;) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, len - done), at + done)
        if (n === 0) throw new Error(`${rawFile} ends at ${at + done}`)
        h.update(buf.subarray(0, n))
        done += n
      }
      root.update(h.digest())
      at += len
    }
  } finally {
    closeSync(fd)
  }
  return root.digest('hex')
}
