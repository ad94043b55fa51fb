import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { BackupCorruptError, TruncatedMidMemberError } from '../errors.js'
import type { ImageManifest } from '../image/manifest.js'
import { InflatePool, type InflatedMember } from './inflate-pool.js'
import { freeNow } from '../image/release-memory.js'

export interface InflateImageOptions {
  readonly workers: number
  /** Ask the threads for each member's non-zero runs (sparse restore). */
  readonly extents?: boolean
  readonly signal?: AbortSignal
  /** Test-only: the thread that gets this member exits. */
  readonly crashOnMember?: number
}

// One member decoded and checked, at its place in the raw image.
export interface RawPiece {
  readonly index: number
  readonly rawOffset: number
  readonly raw: Buffer
  readonly extents: readonly number[] | undefined
}

function noop(): void {}

// The engine of verify and restore: reads the image member by member (the manifest's
// index says where each starts), decodes and checks them on worker threads, and
// hands them to `use` in order while hashing the whole raw image. At most
// 2 x workers members are in memory. Ends with the manifest's size and SHA-256
// checked. `use` must not keep `raw` after it returns: its memory is freed then.
// Benchmark before editing (bench/verify.ts).
export async function inflateImage(
  file: string,
  m: ImageManifest,
  opts: InflateImageOptions,
  use: (piece: RawPiece) => Promise<void> | void,
): Promise<{ rawBytes: number; sha256: string }> {
  const handle = await open(file, 'r')
  const pool = new InflatePool(file, opts.workers, { codec: m.compressed.codec, extents: opts.extents ?? false, crashOnMember: opts.crashOnMember })
  const hash = createHash('sha256')
  const queue: Array<Promise<InflatedMember>> = []
  let rawOffset = 0
  const take = async () => {
    const done = await queue.shift()!
    hash.update(done.raw)
    await use({ index: done.index, rawOffset, raw: done.raw, extents: done.extents })
    rawOffset += done.raw.length
    freeNow(done.raw) // used: give its memory back now, not at the next GC (see release-memory.ts)
  }
  try {
    for (const [index, [offset, length, rawLength, crc32]] of m.members.entries()) {
      opts.signal?.throwIfAborted()
      const member = Buffer.allocUnsafeSlow(length)
      for (let got = 0; got < length; ) {
        const { bytesRead } = await handle.read(member, got, length - got, offset + got)
        if (bytesRead === 0) throw new TruncatedMidMemberError(file, offset + got, m.compressed.bytes, index)
        got += bytesRead
      }
      const p = pool.inflate(index, offset, member, rawLength, crc32)
      p.catch(noop) // awaited in order by take(); a later member's failure must not go unhandled
      queue.push(p)
      if (queue.length >= 2 * opts.workers) await take()
    }
    while (queue.length > 0) await take()
  } finally {
    await pool.close()
    await handle.close()
  }
  const sha256 = hash.digest('hex')
  if (rawOffset !== m.raw.bytes || sha256 !== m.raw.sha256) {
    throw new BackupCorruptError(file, `the decoded image (${rawOffset} bytes, SHA-256 ${sha256}) differs from the manifest's (${m.raw.bytes} bytes, ${m.raw.sha256})`)
  }
  return { rawBytes: rawOffset, sha256 }
}
