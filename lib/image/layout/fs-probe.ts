import type { ByteReader } from './byte-reader.js'
import type { Extent } from '../../util/extent.js'

// What a filesystem parser says about one partition: either which bytes are in
// use (read lazily, so a live filesystem's bitmaps are read just before their
// blocks), or that the whole partition must be read, and why.
export type FsProbe =
  | {
      readonly fs: string
      readonly whole?: undefined
      /** Bytes of the partition the filesystem covers; the rest is read as it is. */
      readonly bytes: number
      /** Bytes in use by the filesystem's own count, for the progress estimate. */
      readonly estimatedUsed: number
      /**
       * Sorted extents in bytes from the partition's start. `note` is told each
       * doubt that made a part be read whole (a bad checksum, counts that disagree).
       */
      used(note?: (doubt: string) => void): AsyncGenerator<Extent>
    }
  | { readonly fs: string; readonly whole: string }

// A view of one partition: offsets relative to its start, reads kept inside it.
export function partitionReader(src: ByteReader, start: number, size: number): ByteReader {
  return {
    path: src.path,
    size,
    base: (src.base ?? 0) + start,
    read(offset, length) {
      if (offset < 0 || offset + length > size)
        return Promise.reject(
          new RangeError(`read of ${length} bytes at ${offset} is outside the partition (${size} bytes)`),
        )
      return src.read(start + offset, length)
    },
  }
}
