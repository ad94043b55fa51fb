import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, openSync, readSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { runImage } from '../../lib/image/run-image.js'
import { type ImageJobContext, type ImageJobOptions } from '../../lib/image/image-options.js'

export const silent = pino({ level: 'silent' })

// Options for a small, fast image job into DIR/nas; tests override what they exercise.
export function imageOptions(dir: string, device: string, over: Partial<ImageJobOptions> = {}): ImageJobOptions {
  return {
    device,
    dest: path.join(dir, 'nas'),
    mount: undefined,
    station: 'zolder',
    codec: 'gzip',
    level: 6,
    workers: 2,
    chunkSize: 64 * 1024,
    minFree: undefined,
    progressIntervalSeconds: 30,
    verify: true,
    full: false,
    skipTail: false,
    commandTimeoutSeconds: 30,
    ...over,
  }
}

export function image(
  dir: string,
  device: string,
  over: Partial<ImageJobOptions> = {},
  ctx: Partial<ImageJobContext> = {},
) {
  return runImage(imageOptions(dir, device, over), { log: silent, ...ctx })
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const b of createReadStream(file)) h.update(b as Buffer)
  return h.digest('hex')
}

// Runs a shell pipeline and returns stdout; throws with stderr when it fails.
export function sh(cmd: string, opts: SpawnSyncOptions = {}): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26, ...opts })
  if (r.status !== 0) throw new Error(`${cmd} → exit ${r.status}: ${r.stderr}`)
  return String(r.stdout)
}

export function has(tool: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0
}

export const isRoot = process.getuid?.() === 0

// Every file below dir, relative, sorted: to assert that nothing was left behind.
export function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath ?? d.path, d.name)))
    .sort()
}

// Deterministic mixed content: text, runs of zeros, pseudo-random bytes.
export function mixedContent(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size;) {
    const kind = (x = (x * 1103515245 + 12345) >>> 0) % 3
    const len = Math.min(size - i, 1000 + (x % 150000))
    if (kind === 0) b.write(`line ${i} of a log file\n`.repeat(Math.ceil(len / 24)).slice(0, len), i)
    else if (kind === 1) {
      for (let j = 0; j < len; j++)
        b[i + j] = ((x = (x ^ (x << 13)) >>> 0), (x = (x ^ (x >>> 17)) >>> 0), (x = (x ^ (x << 5)) >>> 0)) & 0xff
    }
    i += len
  }
  return b
}

// Manifest version 2's member digests and root, computed here from raw bytes (the
// source itself, or an image decompressed by the system's gzip/zstd): SHA-256 of
// each member's range, and SHA-256 of those 32-byte digests in order.
export async function v2Digests(
  rawFile: string,
  members: ReadonlyArray<readonly unknown[]>,
): Promise<{ digests: string[]; root: string }> {
  const fd = openSync(rawFile, 'r')
  const root = createHash('sha256')
  const digests: string[] = []
  try {
    let at = 0
    for (const e of members) {
      const len = e[2] as number
      const h = createHash('sha256')
      const buf = Buffer.alloc(Math.min(len, 4 * 2 ** 20))
      for (let done = 0; done < len;) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, len - done), at + done)
        if (n === 0) throw new Error(`${rawFile} ends at ${at + done}`)
        h.update(buf.subarray(0, n))
        done += n
      }
      const d = h.digest()
      root.update(d)
      digests.push(d.toString('hex'))
      at += len
    }
  } finally {
    closeSync(fd)
  }
  return { digests, root: root.digest('hex') }
}
