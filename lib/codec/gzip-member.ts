import { crc32, deflateRawSync } from 'node:zlib'
import { ownCopy } from '../workers/own-copy.js'

// A gzip member (RFC 1952) is header + raw deflate + trailer. Concatenated members
// are one valid .gz that gzip, pigz, zcat and Python all read as a single stream.
// The header and trailer are written around the deflate output rather than copied
// together with it: that copy alone cost ~50 MiB of RSS (bench/RESULTS.md).

// The 10-byte header: no name, mtime 0 (as gzip -n), so the same input gives the same bytes.
export function gzipHeader(level: number): Buffer {
  const h = Buffer.alloc(10)
  h[0] = 0x1f
  h[1] = 0x8b
  h[2] = 8 // deflate
  h[8] = level >= 9 ? 2 : level === 1 ? 4 : 0 // XFL as gzip sets it
  h[9] = 3 // OS = Unix
  return h
}

// The 8-byte trailer: CRC-32 and length mod 2^32 of the member's raw data.
export function gzipTrailer(crc: number, rawLength: number): Buffer {
  const t = Buffer.alloc(8)
  t.writeUInt32LE(crc >>> 0, 0)
  t.writeUInt32LE(rawLength % 2 ** 32, 4)
  return t
}

// zlib's conservative deflateBound() for raw deflate, which holds for any memLevel
// (its tight bound assumes memLevel 8: at 9, 1 MiB of random bytes deflates to 1239
// bytes more, past that bound).
export function deflateBound(n: number): number {
  return n + ((n + 7) >> 3) + ((n + 63) >> 6) + 5
}

// Above Buffer.poolSize, so zlib's output buffer is never a slice of the shared pool.
const MIN_OUT = 16 * 1024
// zlib's largest hash table: about 10 % less CPU per chunk than the default 8 at
// +0.2 % output on the bench card (bench/RESULTS.md); 128 KiB more per thread.
const MEM_LEVEL = 9

// Deflates one chunk, synchronously: called on a worker thread so zlib stays off
// libuv's threadpool, which the device reads use. The result owns its whole
// ArrayBuffer (one allocation of deflate's worst case) and can be transferred as is.
// Benchmark before editing (bench/compare.ts).
export function deflateChunk(data: Uint8Array, level: number): { body: Buffer; crc32: number } {
  const outSize = Math.max(MIN_OUT, deflateBound(data.length))
  const out = deflateRawSync(data, { level, memLevel: MEM_LEVEL, chunkSize: outSize })
  const owns = out.byteOffset === 0 && out.buffer.byteLength === outSize
  return { body: owns ? out : ownCopy(out), crc32: crc32(data) }
}
