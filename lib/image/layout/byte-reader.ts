import type { FileHandle } from 'node:fs/promises'
import { SourceReadError } from '../../errors.js'
import { errnoText } from '../read-source.js'

// Random reads of the source for the layout parsers (tables, superblocks, bitmaps).
export interface ByteReader {
  readonly path: string
  readonly size: number
  /** Where offset 0 lies on the card (a partition's start), for error messages. */
  readonly base?: number
  /** Exactly `length` bytes at `offset`; a short read is a SourceReadError. */
  read(offset: number, length: number): Promise<Buffer>
}

// A ByteReader over an open file or block device.
export function handleReader(path: string, handle: FileHandle, size: number): ByteReader {
  return {
    path,
    size,
    async read(offset, length) {
      const buf = Buffer.alloc(length)
      await readFully(path, handle, buf, 0, length, offset)
      return buf
    },
  }
}

// Fills buf[at, at+length) from the source at `position`, or names the byte where it failed.
export async function readFully(path: string, handle: FileHandle, buf: Buffer, at: number, length: number, position: number): Promise<void> {
  for (let got = 0; got < length; ) {
    let n: number
    try {
      ;({ bytesRead: n } = await handle.read(buf, at + got, length - got, position + got))
    } catch (err) {
      throw new SourceReadError(path, position + got, errnoText(err), { cause: err })
    }
    if (n === 0) throw new SourceReadError(path, position + got, 'ended early')
    got += n
  }
}
