import { stat } from 'node:fs/promises'
import type { ImageManifest } from '../image/manifest.js'
import type { Progress } from '../image/progress.js'
import { inflateImage } from './inflate-image.js'
import { checkImageSize, readImageManifest } from './read-image-manifest.js'

export interface VerifyImageOptions {
  readonly workers: number
  readonly signal?: AbortSignal
  /** The manifest in memory (the image job verifies before writing it). */
  readonly manifest?: ImageManifest
  readonly progress?: (total: number, label: string) => Progress
  readonly crashOnMember?: number
}

// What a passed verification established.
export interface ImageVerified {
  readonly manifest: ImageManifest
  readonly rawBytes: number
  readonly sha256: string
  readonly members: number
}

// Reads an image back and proves it whole: the manifest describes it, its size is
// exact (no truncation, no trailing data), every member decodes with the CRC-32
// and length recorded, and the decoded image has the recorded SHA-256.
export async function verifyImage(file: string, opts: VerifyImageOptions): Promise<ImageVerified> {
  const manifest = opts.manifest ?? (await readImageManifest(file))
  checkImageSize(file, (await stat(file)).size, manifest)
  const progress = opts.progress?.(manifest.raw.bytes, 'verify')
  progress?.start()
  try {
    const { rawBytes, sha256 } = await inflateImage(file, manifest, opts, (p) => {
      progress?.addRead(p.raw.length)
      progress?.addCompressed(p.raw.length, manifest.members[p.index]![1])
    })
    return { manifest, rawBytes, sha256, members: manifest.members.length }
  } finally {
    progress?.stop()
  }
}
