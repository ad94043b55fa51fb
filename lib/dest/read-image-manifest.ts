import {
  ManifestMismatchError,
  TrailingDataError,
  TruncatedAtBoundaryError,
  TruncatedMidMemberError,
} from '../errors.js'
import { MAX_ZERO_MEMBER, type ImageManifest } from './image-manifest.js'
import { manifestPathFor } from './layout.js'
import { readManifestFile } from './read-manifest.js'
import { isCodec } from '../codec/registry.js'

// The largest chunk the image job writes (chunk-size's maximum): no member decodes to more.
const MAX_CHUNK = 256 * 2 ** 20
const SHA256 = /^[0-9a-f]{64}$/
const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER) =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

// Everything a reader of an image manifest relies on, checked in one place before
// anything is sized from it: types and ranges, members back to back from byte 0,
// each no larger than the chunk size (and its compressed form no larger than zstd's
// worst case, ZSTD_COMPRESSBOUND), adding up to the sizes it records. The reason, or undefined.
export function imageManifestProblem(m: ImageManifest): string | undefined {
  if (m.formatVersion !== 1 && m.formatVersion !== 2)
    return `format version ${String(m.formatVersion)} is not understood`
  const v2 = m.formatVersion === 2
  if (m.mode !== undefined && m.mode !== 'full' && m.mode !== 'used') return `mode ${String(m.mode)} is not understood`
  const hex = (v: unknown) => typeof v === 'string' && SHA256.test(v)
  // Version 1 is identified by the whole image's SHA-256, version 2 by its root digest (the whole SHA-256 optional).
  if (
    !isObject(m.raw) ||
    !isCount(m.raw.bytes) ||
    (v2 ? !hex(m.raw.root) || (m.raw.sha256 !== undefined && !hex(m.raw.sha256)) : !hex(m.raw.sha256))
  ) {
    return 'its raw size or SHA-256 is missing or not valid'
  }
  const c = m.compressed as unknown
  if (
    !isObject(c) ||
    !isCount(c.bytes) ||
    !isCodec(c.codec) ||
    !isCount(c.chunkSize, MAX_CHUNK) ||
    (c.chunkSize as number) === 0
  ) {
    return 'its compressed size, codec or chunk size is missing or not valid'
  }
  if (
    m.mode === 'used' &&
    (!isObject(m.layout) ||
      !isObject(m.layout.bmap) ||
      typeof m.layout.bmap.sha256 !== 'string' ||
      !SHA256.test(m.layout.bmap.sha256))
  ) {
    return 'a used-block image without its layout and .bmap checksum'
  }
  if (
    m.verification !== undefined &&
    (!isObject(m.verification) || !['ok', 'failed', 'skipped'].includes(String(m.verification.result)))
  )
    return 'its verification record is not valid'
  if (!Array.isArray(m.members)) return 'it has no member index'
  const chunk = c.chunkSize as number
  // Members hold at least one byte, so there are never more than raw bytes, nor more than chunks.
  if (m.members.length > Math.ceil(m.raw.bytes / chunk) + 1)
    return `${m.members.length} members are more than ${m.raw.bytes} raw bytes in chunks of ${chunk} can make`
  let offset = 0
  let raw = 0
  for (const [i, e] of (m.members as unknown[]).entries()) {
    if (!Array.isArray(e) || e.length !== (v2 ? 5 : 4))
      return `member ${i} is not [offset, compressed, raw, crc32${v2 ? ', sha256' : ''}]`
    const [at, clen, rlen, crc, digest] = e as unknown[]
    if (v2 && digest !== 0 && !hex(digest)) return `member ${i} has no valid SHA-256`
    const most = v2 && digest === 0 ? Math.max(chunk, MAX_ZERO_MEMBER) : chunk
    if (!isCount(rlen, most) || (rlen as number) === 0)
      return (
        `member ${i} decodes to ${String(rlen)} bytes, not 1 to the ` +
        `${most === chunk ? 'chunk size' : 'longest zero member'} ${most}`
      )
    if (!isCount(clen, (rlen as number) + Math.ceil((rlen as number) / 128) + 1024) || (clen as number) === 0)
      return `member ${i} has a compressed length of ${String(clen)}, not possible for ${String(rlen)} bytes`
    if (!isCount(crc, 2 ** 32 - 1)) return `member ${i} has no valid CRC-32`
    if (at !== offset) return `member ${i} starts at byte ${String(at)}, the one before it ends at ${offset}`
    offset += clen as number
    raw += rlen as number
  }
  if (offset !== c.bytes || raw !== m.raw.bytes)
    return (
      `its members add up to ${offset} compressed / ${raw} raw bytes, it records ${String(c.bytes)} / ` +
      `${m.raw.bytes}`
    )
  return undefined
}

// Reads the manifest beside an image and checks that it describes this file and
// that it is whole and valid (imageManifestProblem).
export async function readImageManifest(file: string): Promise<ImageManifest> {
  const where = manifestPathFor(file)
  const m = await readManifestFile<ImageManifest>(file, where, 'sd-backup-image', (x) => x.image)
  const problem = imageManifestProblem(m)
  if (problem) throw new ManifestMismatchError(file, where, problem)
  return m
}

// Compares the file's size with the manifest's before anything is decoded. A file
// cut exactly between two members is the case `gzip -t` cannot see.
export function checkImageSize(file: string, size: number, m: ImageManifest): void {
  const expected = m.compressed.bytes
  if (size > expected) throw new TrailingDataError(file, size, expected)
  if (size === expected) return
  const k = m.members.findIndex(([off, len]) => size < off + len)
  if (m.members[k]![0] === size) throw new TruncatedAtBoundaryError(file, size, expected, k, m.members.length)
  throw new TruncatedMidMemberError(file, size, expected, k)
}
