import type { Extent } from '../util/extent.js'
import type { BufferPool } from '../workers/buffer-pool.js'
import { MAX_ZERO_MEMBER } from '../dest/image-manifest.js'
import { readFully, type RawChunk, type Source } from './read-source.js'

// Pieces closer than this are read in one request and the bytes between zeroed:
// fewer, larger reads suit SD cards better than many 4 KiB ones.
const COALESCE_BYTES = 64 * 1024

// Used-block mode's read path: the same chunk grid as a full read (so the member
// index and the output are those of a full image), but only the bytes in `extents`
// are read; everything else in a chunk is zeros. A chunk with nothing in use is
// not read at all and takes no pooled buffer, and a run of them becomes members of
// up to MAX_ZERO_MEMBER (see zeroRun). Extents are pulled lazily, so a filesystem's
// bitmap is read just before the blocks it describes.
// Benchmark before editing (bench/compare.ts).
// A run of free space this long (whole chunks) becomes one member, so the member
// index grows with the data, not the card: a multiple of the chunk size, or none.
export function longZeroBytes(chunkSize: number): number | undefined {
  return MAX_ZERO_MEMBER > chunkSize && MAX_ZERO_MEMBER % chunkSize === 0 ? MAX_ZERO_MEMBER : undefined
}

// How many bytes the next member covers, given `free` known-free bytes ahead (0 when
// not on the chunk grid): the longest of chunkSize x 2^k up to `long` that fits, so a
// gap between used blocks takes its 64 MiB members and then at most log2(64) more,
// of only a handful of lengths (each length's zero member is encoded once).
export function zeroRun(long: number | undefined, chunkSize: number, free: number, left: number): number {
  let n = chunkSize
  if (long !== undefined) while (n * 2 <= long && n * 2 <= free && n * 2 <= left) n *= 2
  return Math.min(n, left)
}

export async function* readUsedChunks(
  source: Source,
  extents: AsyncIterable<Extent>,
  chunkSize: number,
  pool: BufferPool,
): AsyncGenerator<RawChunk> {
  const size = source.size
  const long = longZeroBytes(chunkSize)
  // Zeros are never written: a large view costs no memory until something reads it.
  const zeros = Buffer.alloc(Math.min(long ?? chunkSize, size))
  const it = extents[Symbol.asyncIterator]()
  let cur = (await it.next()).value as Extent | undefined
  for (let index = 0, offset = 0; offset < size || index === 0; index++) {
    // Free up to the next extent (everything before it is known): a long zero member, on the chunk grid.
    const free = (cur ? cur.start : size) - offset
    const end = offset + zeroRun(long, chunkSize, offset % chunkSize === 0 ? free : 0, size - offset)
    const pieces: Extent[] = []
    while (cur && cur.start < end) {
      const start = Math.max(cur.start, offset)
      const stop = Math.min(cur.end, end)
      if (stop > start) pieces.push(cur.zero ? { start, end: stop, zero: true } : { start, end: stop })
      if (cur.end > end) break
      cur = (await it.next()).value as Extent | undefined
    }
    const toRead = pieces.filter((p) => !p.zero)
    if (toRead.length === 0) {
      // Nothing to read (free space, or only known zeros, which stay mapped for the .bmap).
      yield { index, offset, data: zeros.subarray(0, end - offset), zero: true, mapped: pieces }
    } else {
      const buf = await pool.acquire()
      try {
        await fillChunk(source, buf, offset, end, toRead)
      } catch (err) {
        pool.release(buf)
        throw err
      }
      yield { index, offset, data: buf.subarray(0, end - offset), zero: false, mapped: pieces }
    }
    offset = end
  }
}

// Reads the pieces (coalesced) into buf, then zeroes every byte outside them.
async function fillChunk(
  source: Source,
  buf: Buffer,
  offset: number,
  end: number,
  pieces: readonly Extent[],
): Promise<void> {
  for (let i = 0; i < pieces.length;) {
    let j = i
    while (j + 1 < pieces.length && pieces[j + 1]!.start - pieces[j]!.end < COALESCE_BYTES) j++
    const from = pieces[i]!.start
    await readFully(source, buf, from - offset, pieces[j]!.end - from, from)
    i = j + 1
  }
  let at = offset
  for (const p of pieces) {
    if (p.start > at) buf.fill(0, at - offset, p.start - offset)
    at = p.end
  }
  if (at < end) buf.fill(0, at - offset, end - offset)
}
