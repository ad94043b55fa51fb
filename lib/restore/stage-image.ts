import { open } from 'node:fs/promises'
import path from 'node:path'
import type { ImageManifest } from '../dest/image-manifest.js'
import type { Progress } from '../log/progress.js'
import { inflateImage } from '../verify/inflate-image.js'
import { writeFully } from '../util/write-fully.js'

export interface StagedImage {
  /** The card's bytes before the root partition (table, boot partition), sparse. */
  readonly head: string
  /** The root partition alone, sparse: what e2fsck and resize2fs work on. */
  readonly root: string
  /** Non-zero bytes after the root partition, which a shrunk card cannot keep. */
  readonly droppedBytes: number
}

// Decodes the image (checked member by member, as every restore) into two sparse
// files in `dir`: the head of the card and the root partition [rootStart, rootEnd).
// Runs of zeros stay holes, so staging takes about the image's data.
export async function stageImage(
  file: string,
  m: ImageManifest,
  rootStart: number,
  rootEnd: number,
  dir: string,
  opts: { workers: number; signal?: AbortSignal; progress?: (total: number, label: string) => Progress },
): Promise<StagedImage> {
  const staged = { head: path.join(dir, 'head.img'), root: path.join(dir, 'root.img') }
  const head = await open(staged.head, 'wx', 0o600)
  const root = await open(staged.root, 'wx', 0o600)
  let droppedBytes = 0
  const progress = opts.progress?.(m.raw.bytes, 'stage')
  progress?.start()
  try {
    await inflateImage(file, m, { ...opts, extents: true, raw: true }, async (p) => {
      const ex = p.extents!
      for (let i = 0; i < ex.length; i += 2) {
        const a = p.rawOffset + ex[i]!
        const b = p.rawOffset + ex[i + 1]!
        const piece = (lo: number, hi: number) => p.raw.subarray(lo - p.rawOffset, hi - p.rawOffset)
        if (a < rootStart) await writeFully(head, piece(a, Math.min(b, rootStart)), a)
        const ra = Math.max(a, rootStart)
        const rb = Math.min(b, rootEnd)
        if (ra < rb) await writeFully(root, piece(ra, rb), ra - rootStart)
        if (b > rootEnd) droppedBytes += b - Math.max(a, rootEnd)
      }
      progress?.addRead(p.raw.length)
    })
    await head.truncate(rootStart)
    await root.truncate(rootEnd - rootStart)
    await head.sync()
    await root.sync()
  } finally {
    progress?.stop()
    await head.close()
    await root.close()
  }
  return { ...staged, droppedBytes }
}
