import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { BmapUnusableError } from '../errors.js'
import type { Extent } from '../util/extent.js'
import type { ImageManifest } from '../dest/image-manifest.js'
import { bmapPathFor } from '../dest/layout.js'

// A mapped range of the image in bytes, with the SHA-256 the .bmap gives it.
export interface MappedRange extends Extent {
  readonly sha256: string
}

// Reads the .bmap beside an image for restore --bmap: its own checksum must hold
// (bmaptool's rule: SHA-256 of the file with that field all zeros), it must be the
// one the manifest recorded, and its size must be the image's. Returns the mapped
// byte ranges, sorted.
export async function readBmap(file: string, m: ImageManifest): Promise<MappedRange[]> {
  const where = bmapPathFor(file)
  const fail = (reason: string, cause?: unknown) => new BmapUnusableError(file, where, reason, { cause })
  // A full image has no .bmap of its own: whatever lies beside it was written by someone else.
  if (!m.layout) throw fail('the manifest records no .bmap (a full image): restore without --bmap')
  let text: string
  try {
    text = await readFile(where, 'utf8')
  } catch (err) {
    throw fail(
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'it does not exist (only used-block images have one; restore without --bmap)'
        : String(err),
      err,
    )
  }
  const field = (name: string) => new RegExp(`<${name}>\\s*([^<\\s]+)\\s*</${name}>`).exec(text)?.[1]
  const sum = field('BmapFileChecksum')
  if (!sum || !/^[0-9a-f]{64}$/.test(sum) || field('ChecksumType') !== 'sha256')
    throw fail('it has no SHA-256 file checksum')
  if (
    createHash('sha256')
      .update(text.replace(sum, '0'.repeat(64)))
      .digest('hex') !== sum
  )
    throw fail('its checksum does not match its content (damaged)')
  if (createHash('sha256').update(text).digest('hex') !== m.layout.bmap.sha256)
    throw fail('it is not the .bmap the manifest recorded')
  const blockSize = Number(field('BlockSize'))
  const imageSize = Number(field('ImageSize'))
  if (!(blockSize > 0)) throw fail('it has no block size')
  if (imageSize !== m.raw.bytes) throw fail(`it describes an image of ${imageSize} bytes, the manifest ${m.raw.bytes}`)
  const ranges: MappedRange[] = []
  for (const r of text.matchAll(/<Range chksum="([0-9a-f]{64})">\s*(\d+)(?:-(\d+))?\s*<\/Range>/g)) {
    const first = Number(r[2])
    const last = Number(r[3] ?? r[2])
    const start = first * blockSize
    if (last < first || start < (ranges.at(-1)?.end ?? 0) || start >= imageSize)
      throw fail(`range ${r[0].trim()} is out of order or past the image`)
    ranges.push({ start, end: Math.min((last + 1) * blockSize, imageSize), sha256: r[1]! })
  }
  return ranges
}
