import type { ByteReader } from '../../../lib/image/layout/byte-reader.js'

// A ByteReader over a buffer, for parsers tested on hand-built sectors.
export function memReader(buf: Buffer, size = buf.length): ByteReader {
  return {
    path: 'mem',
    size,
    async read(offset, length) {
      if (offset + length > buf.length) throw new RangeError(`read past the test buffer at ${offset}`)
      return Buffer.from(buf.subarray(offset, offset + length))
    },
  }
}
