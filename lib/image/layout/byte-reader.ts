import { readFully, type Source } from '../read-source.js'

// Random reads of the source for the layout parsers (tables, superblocks, bitmaps).
export interface ByteReader {
  readonly path: string
  readonly size: number
  /** Where offset 0 lies on the card (a partition's start), for error messages. */
  readonly base?: number
  /** Exactly `length` bytes at `offset`; a short read is a SourceReadError. */
  read(offset: number, length: number): Promise<Buffer>
}

// A ByteReader over the opened source (file or block device).
export function handleReader(source: Pick<Source, 'path' | 'size' | 'handle'>): ByteReader {
  return {
    path: source.path,
    size: source.size,
    async read(offset, length) {
      const buf = Buffer.alloc(length)
      await readFully(source, buf, 0, length, offset)
      return buf
    },
  }
}
