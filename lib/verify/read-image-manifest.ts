import { ManifestMismatchError, TrailingDataError, TruncatedAtBoundaryError, TruncatedMidMemberError } from '../errors.js'
import type { ImageManifest } from '../image/manifest.js'
import { manifestPathFor } from '../image/naming.js'
import { readManifestFile } from './read-manifest.js'

// Reads the manifest beside an image and checks that it describes this file and
// that its member index is whole: members back to back from byte 0, adding up to
// the compressed and raw sizes it records.
export async function readImageManifest(file: string): Promise<ImageManifest> {
  const where = manifestPathFor(file)
  const m = await readManifestFile<ImageManifest>(file, where, 'sd-backup-image', (x) => x.image)
  const mismatch = (reason: string) => new ManifestMismatchError(file, where, reason)
  if (!Array.isArray(m.members)) throw mismatch('it has no member index')
  let offset = 0
  let raw = 0
  for (const [i, e] of m.members.entries()) {
    if (e[0] !== offset) throw mismatch(`member ${i} starts at byte ${e[0]}, the one before it ends at ${offset}`)
    offset += e[1]
    raw += e[2]
  }
  if (offset !== m.compressed.bytes || raw !== m.raw.bytes) {
    throw mismatch(`its members add up to ${offset} compressed / ${raw} raw bytes, it records ${m.compressed.bytes} / ${m.raw.bytes}`)
  }
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
