import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib'
import { ownCopy } from '../workers/own-copy.js'
import { checkAgainstManifest, hex, type ImageCodec, type MemberCheck, type MemberExpectation } from './codec.js'

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

// One header per level, shared by every member (the writer only reads it), as before the codec registry.
const headers = new Map<number, Buffer>()
function headerFor(level: number): Buffer {
  let h = headers.get(level)
  if (!h) headers.set(level, (h = gzipHeader(level)))
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

const FHCRC = 2
const FEXTRA = 4
const FNAME = 8
const FCOMMENT = 16

// Decodes one gzip member (RFC 1952) and checks everything it and the manifest
// promise: header, deflate data ending exactly at the trailer, the trailer's CRC-32
// and length, then the manifest's. Any gzip member is accepted, not only ours.
// Runs on the decompression threads. Benchmark before editing (bench/verify.ts).
export function inflateGzipMember(m: Buffer, want: MemberExpectation): MemberCheck {
  const bad = (reason: string): MemberCheck => ({ ok: false, reason })
  if (m.length < 18) return bad(`${m.length} bytes are too short for a gzip member`)
  if (m[0] !== 0x1f || m[1] !== 0x8b) return bad('no gzip magic at the start of the member')
  if (m[2] !== 8) return bad(`compression method ${m[2]} is not deflate`)
  const flags = m[3]!
  if (flags & 0xe0) return bad(`reserved header flags set (0x${flags.toString(16)})`)
  let at = 10
  if (flags & FEXTRA) at += 2 + m.readUInt16LE(at)
  for (const f of [FNAME, FCOMMENT]) if (flags & f) at = m.indexOf(0, at) + 1 || m.length
  if (flags & FHCRC) at += 2
  if (at > m.length - 8) return bad('the gzip header runs into the trailer')
  const body = m.subarray(at, m.length - 8)
  let raw: Buffer
  try {
    // One output buffer a byte larger than expected: inflate ends in one call, no
    // growing and concatenating, and the result can be transferred as it is.
    const r = inflateRawSync(body, { info: true, chunkSize: Math.max(64 * 1024, want.rawLength + 1) }) as unknown as {
      buffer: Buffer
      engine: { bytesWritten: number }
    }
    if (r.engine.bytesWritten !== body.length)
      return bad(`the deflate data ends ${body.length - r.engine.bytesWritten} bytes before the trailer`)
    raw = r.buffer
  } catch (err) {
    return bad(`deflate data: ${(err as Error).message}`)
  }
  const crc = crc32(raw) >>> 0
  const trailerCrc = m.readUInt32LE(m.length - 8)
  const trailerSize = m.readUInt32LE(m.length - 4)
  if (crc !== trailerCrc) return bad(`CRC-32 ${hex(crc)} of the data differs from the trailer's ${hex(trailerCrc)}`)
  if (raw.length % 2 ** 32 !== trailerSize) return bad(`${raw.length} bytes decoded, the trailer says ${trailerSize}`)
  return checkAgainstManifest(raw, crc, want)
}

// gzip: what every tool reads. Level 6 and 1 MiB chunks: pigz's ratio and speed (bench/RESULTS.md).
export const gzip: ImageCodec = {
  name: 'gzip',
  imageExtension: '.img.gz',
  levels: { min: 0, max: 9, default: 6 },
  defaultChunkSize: 2 ** 20,
  minChunkSize: 0,
  help: '.img.gz, flashable by Imager/Etcher',
  encode: async (data, level) => deflateChunk(data, level),
  bodyBound: (n) => Math.max(MIN_OUT, deflateBound(n)),
  frame: (level, body, crc, rawLength) => [headerFor(level), body, gzipTrailer(crc, rawLength)],
  decode: async (member, want) => inflateGzipMember(member, want),
}
