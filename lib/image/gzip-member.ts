import { crc32, deflateRawSync } from 'node:zlib'

// One complete gzip member (RFC 1952) around raw-deflate data. Concatenated members
// are one valid .gz that gzip, pigz, zcat and Python all read as a single stream.
export function gzipMember(deflated: Uint8Array, crc: number, rawLength: number, level: number): Buffer {
  const out = Buffer.allocUnsafeSlow(10 + deflated.length + 8)
  out[0] = 0x1f
  out[1] = 0x8b
  out[2] = 8 // deflate
  out[3] = 0 // no flags, no name: members carry no metadata that would differ per run
  out.writeUInt32LE(0, 4) // mtime 0, as pigz -n / gzip -n: same input, same bytes
  out[8] = level >= 9 ? 2 : level === 1 ? 4 : 0 // XFL as gzip sets it
  out[9] = 3 // OS = Unix
  out.set(deflated, 10)
  out.writeUInt32LE(crc >>> 0, 10 + deflated.length)
  out.writeUInt32LE(rawLength % 2 ** 32, 14 + deflated.length)
  return out
}

// Compresses one chunk into one member, synchronously: called on a worker thread so
// zlib stays off libuv's threadpool, which the device reads use.
// Benchmark before editing (bench/compare.ts).
export function gzipChunk(data: Uint8Array, level: number): { member: Buffer; crc32: number } {
  const crc = crc32(data)
  return { member: gzipMember(deflateRawSync(data, { level }), crc, data.length, level), crc32: crc }
}
