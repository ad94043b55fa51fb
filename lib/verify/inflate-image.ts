import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { BackupCorruptError, TruncatedMidMemberError } from '../errors.js'
import type { ImageManifest } from '../dest/image-manifest.js'
import { InflatePool, type InflatedMember } from './inflate-pool.js'
import { BufferPool } from '../workers/buffer-pool.js'
import { freeNow } from '../workers/release-memory.js'
import { ZeroMembers } from './zero-members.js'
import { CODECS } from '../codec/registry.js'
import type { ImageCodec } from '../codec/codec.js'

export interface InflateImageOptions {
  readonly workers: number
  /** Ask the threads for each member's non-zero runs (sparse restore). */
  readonly extents?: boolean
  /** The decoded bytes are needed (restore); verify needs only the digests. */
  readonly raw?: boolean
  /** Read with O_DIRECT (NFS: from the server, not this machine's page cache). */
  readonly direct?: boolean
  readonly signal?: AbortSignal
  /** Test-only: the thread that gets this member exits. */
  readonly crashOnMember?: number
}

// One member decoded and checked, at its place in the raw image.
export interface RawPiece {
  readonly index: number
  readonly rawOffset: number
  readonly rawLength: number
  /** The decoded bytes (empty without `raw`); for a member of zeros a shared view. */
  readonly raw: Buffer
  readonly extents: readonly number[] | undefined
}

export interface InflatedImage {
  readonly rawBytes: number
  /** The whole image's SHA-256, when the manifest records one (version 1, or whole-sha256). */
  readonly sha256?: string
  /** The root of the member digests (version 2). */
  readonly root?: string
}

function noop(): void {}

// The engine of verify and restore: reads the image member by member (the manifest's
// index says where each starts), decodes and checks them on worker threads, and
// hands them to `use` in order. At most 2 x workers + 1 members are in memory.
// Version 2: each member is hashed on the thread that decoded it and checked
// against its digest, and the root is checked at the end; a member of zeros that
// is byte for byte what the image job writes for zeros is not inflated at all.
// Version 1 (and whole-sha256): the whole image is hashed here as well. `use` must
// not keep `raw` after it returns: its memory is freed then.
// Benchmark before editing (bench/verify.ts).
export async function inflateImage(
  file: string,
  m: ImageManifest,
  opts: InflateImageOptions,
  use: (piece: RawPiece) => Promise<void> | void,
): Promise<InflatedImage> {
  ;(CODECS[m.compressed.codec] as ImageCodec).available?.()
  const v2 = m.formatVersion === 2
  const whole = m.raw.sha256 !== undefined ? createHash('sha256') : undefined
  const root = v2 ? createHash('sha256') : undefined
  const needRaw = (opts.raw ?? false) || whole !== undefined
  const handle = await open(file, opts.direct ? constants.O_RDONLY | constants.O_DIRECT : constants.O_RDONLY)
  // Member buffers are reused, not allocated here and freed on a thread: that
  // fragments glibc's arenas (+15 MiB on a grown card's many zero members).
  // In flight: the queue, plus the member being read.
  const inFlight = 2 * opts.workers
  const buffers = new BufferPool(
    m.members.reduce((most, e) => Math.max(most, e[1]), 0),
    inFlight + 1,
  )
  const pool = new InflatePool(
    file,
    opts.workers,
    {
      codec: m.compressed.codec,
      extents: opts.extents ?? false,
      digest: v2,
      raw: needRaw,
      crashOnMember: opts.crashOnMember,
    },
    (b) => buffers.release(b),
  )
  const zeros = new ZeroMembers(m.compressed.codec, m.compressed.level)
  const queue: Array<Promise<InflatedMember>> = []
  let rawOffset = 0
  const take = async () => {
    const done = await queue.shift()!
    if (root) {
      const entry = m.members[done.index]!
      const want = entry[4] === 0 ? zeros.digest(entry[2]) : String(entry[4])
      if (done.sha256 !== want) {
        throw new BackupCorruptError(
          file,
          `member ${done.index} at byte ${entry[0]} decodes to SHA-256 ${done.sha256}, the manifest has ${want}`,
          { member: done.index, offset: entry[0] },
        )
      }
      root.update(Buffer.from(want, 'hex'))
    }
    whole?.update(done.raw)
    await use({ index: done.index, rawOffset, rawLength: done.rawLength, raw: done.raw, extents: done.extents })
    rawOffset += done.rawLength
    // Used: give its memory back now, not at the next GC (see release-memory.ts).
    if (!done.shared && done.raw.length > 0) freeNow(done.raw)
  }
  try {
    for (const [index, [offset, length, rawLength, crc32, digest]] of m.members.entries()) {
      opts.signal?.throwIfAborted()
      const member = (await buffers.acquire()).subarray(0, length)
      for (let got = 0; got < length;) {
        const { bytesRead } = await handle.read(member, got, length - got, offset + got)
        if (bytesRead === 0) throw new TruncatedMidMemberError(file, offset + got, m.compressed.bytes, index)
        got += bytesRead
      }
      let p: Promise<InflatedMember>
      if (v2 && digest === 0 && member.equals(await zeros.member(rawLength))) {
        // The bytes the image job writes for zeros: known without inflating.
        buffers.release(member)
        const view = needRaw ? zeros.view(rawLength) : Buffer.alloc(0)
        p = Promise.resolve({
          index,
          raw: view,
          rawLength,
          extents: opts.extents ? [] : undefined,
          sha256: zeros.digest(rawLength),
          shared: true,
        })
      } else p = pool.inflate(index, offset, member, rawLength, crc32)
      p.catch(noop) // awaited in order by take(); a later member's failure must not go unhandled
      queue.push(p)
      if (queue.length >= inFlight) await take()
    }
    while (queue.length > 0) await take()
  } finally {
    await pool.close()
    await handle.close()
  }
  const sha256 = whole?.digest('hex')
  const rootDigest = root?.digest('hex')
  if (rawOffset !== m.raw.bytes || sha256 !== m.raw.sha256 || rootDigest !== m.raw.root) {
    const got = [sha256 ? `SHA-256 ${sha256}` : '', rootDigest ? `root ${rootDigest}` : ''].filter(Boolean).join(', ')
    const want = [m.raw.sha256 ? `SHA-256 ${m.raw.sha256}` : '', m.raw.root ? `root ${m.raw.root}` : '']
      .filter(Boolean)
      .join(', ')
    throw new BackupCorruptError(
      file,
      `the decoded image (${rawOffset} bytes, ${got}) differs from the manifest's (${m.raw.bytes} bytes, ${want})`,
    )
  }
  return { rawBytes: rawOffset, ...(sha256 ? { sha256 } : {}), ...(rootDigest ? { root: rootDigest } : {}) }
}
