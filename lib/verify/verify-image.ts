import { stat } from 'node:fs/promises'
import type { ImageManifest } from '../dest/image-manifest.js'
import type { Progress } from '../log/progress.js'
import { inflateImage } from './inflate-image.js'
import { checkImageSize, readImageManifest } from '../dest/read-image-manifest.js'

export interface VerifyImageOptions {
  readonly workers: number
  readonly signal?: AbortSignal
  /** The manifest in memory (the image job verifies before writing it). */
  readonly manifest?: ImageManifest
  readonly progress?: (total: number, label: string) => Progress
  readonly crashOnMember?: number
  /** Read the image with O_DIRECT (see inflateImage). */
  readonly direct?: boolean
}

// What a passed verification established.
export interface ImageVerified {
  readonly manifest: ImageManifest
  readonly rawBytes: number
  /** What was proved: the whole image's SHA-256 and/or the root of the member digests. */
  readonly sha256?: string
  readonly root?: string
  readonly members: number
}

// Reads an image back and proves it whole: the manifest describes it, its size is
// exact (no truncation, no trailing data), every member decodes with the CRC-32,
// length and (version 2) SHA-256 recorded, and the root of the member digests (or,
// version 1, the whole image's SHA-256) is the recorded one.
export async function verifyImage(file: string, opts: VerifyImageOptions): Promise<ImageVerified> {
  const manifest = opts.manifest ?? (await readImageManifest(file))
  checkImageSize(file, (await stat(file)).size, manifest)
  const progress = opts.progress?.(manifest.raw.bytes, 'verify')
  progress?.start()
  try {
    const r = await inflateImage(file, manifest, opts, (p) => {
      progress?.addRead(p.rawLength)
      progress?.addCompressed(p.rawLength, manifest.members[p.index]![1])
    })
    return { manifest, ...r, members: manifest.members.length }
  } finally {
    progress?.stop()
  }
}
