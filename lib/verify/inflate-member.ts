import { crc32, inflateRawSync } from 'node:zlib'

// What the manifest says about one member.
export interface MemberExpectation {
  readonly rawLength: number
  readonly crc32: number
}

// A member's raw bytes, or why they cannot be trusted (a verify result, not a crash).
export type MemberCheck = { readonly ok: true; readonly raw: Buffer } | { readonly ok: false; readonly reason: string }

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
    const r = inflateRawSync(body, { info: true, chunkSize: Math.max(64 * 1024, want.rawLength + 1) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } }
    if (r.engine.bytesWritten !== body.length) return bad(`the deflate data ends ${body.length - r.engine.bytesWritten} bytes before the trailer`)
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

// The manifest's length and CRC-32 for a decoded member (gzip or zstd).
export function checkAgainstManifest(raw: Buffer, crc: number, want: MemberExpectation): MemberCheck {
  if (raw.length !== want.rawLength) return { ok: false, reason: `${raw.length} bytes decoded, the manifest says ${want.rawLength}` }
  if (crc !== want.crc32 >>> 0) return { ok: false, reason: `CRC-32 ${hex(crc)} differs from the manifest's ${hex(want.crc32 >>> 0)}` }
  return { ok: true, raw }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`
}

const BLOCK = 4096
const ZERO_BLOCK = Buffer.alloc(BLOCK)

// The runs of 4 KiB blocks that are not all zeros, as [start, end) pairs: what a
// sparse restore writes (the rest become holes).
export function nonZeroExtents(raw: Uint8Array): number[] {
  const out: number[] = []
  for (let at = 0; at < raw.length; at += BLOCK) {
    const end = Math.min(raw.length, at + BLOCK)
    const zero = end - at === BLOCK ? ZERO_BLOCK.equals(raw.subarray(at, end)) : raw.subarray(at, end).every((b) => b === 0)
    if (zero) continue
    if (out.length && out[out.length - 1] === at) out[out.length - 1] = end
    else out.push(at, end)
  }
  return out
}
