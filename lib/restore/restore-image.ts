import { stat, type FileHandle } from 'node:fs/promises'
import { DestWriteError, errnoText, NotConfirmedError, TargetExistsError } from '../errors.js'
import type { Progress } from '../log/progress.js'
import { AtomicFile } from '../dest/write-atomic.js'
import { inflateImage, type InflatedImage } from '../verify/inflate-image.js'
import { bmapRanges, imageRanges, readBack } from './check-card.js'
import { checkImageSize, readImageManifest } from '../dest/read-image-manifest.js'
import type { ImageManifest } from '../dest/image-manifest.js'
import { readBmap, type MappedRange } from './read-bmap.js'
import { checkTargetDevice, type TargetDevice, type TargetEnvironment } from './check-target.js'
import { openCardForWrite } from './open-card.js'
import { writeFully } from '../util/write-fully.js'

export interface RestoreImageOptions {
  readonly workers: number
  readonly signal?: AbortSignal
  readonly progress?: (total: number, label: string) => Progress
}

export interface RestoreToDeviceOptions extends RestoreImageOptions {
  /** Read the device back afterwards and compare with the manifest's SHA-256. */
  readonly readBack: boolean
  /** Shown the card; true to go ahead (the CLI asks, or --yes). */
  readonly confirm: (target: TargetDevice, image: { bytes: number; file: string }) => Promise<boolean>
  readonly env?: TargetEnvironment
  /** Write only the blocks the .bmap beside the image maps (what the filesystems use). */
  readonly bmap?: boolean
}

// Writes the parts of `raw` (at image offset `at`) that fall inside the mapped ranges;
// `from` is where the search starts (ranges are visited in order). Returns the new start.
async function writeMapped(
  h: FileHandle,
  raw: Buffer,
  at: number,
  ranges: readonly MappedRange[],
  from: number,
): Promise<{ next: number; written: number }> {
  const end = at + raw.length
  let k = from
  while (k < ranges.length && ranges[k]!.end <= at) k++
  let written = 0
  for (let i = k; i < ranges.length && ranges[i]!.start < end; i++) {
    const a = Math.max(ranges[i]!.start, at)
    const b = Math.min(ranges[i]!.end, end)
    await writeFully(h, raw.subarray(a - at, b - at), a)
    written += b - a
  }
  return { next: k, written }
}

// Reads and checks an image's manifest and size before a byte of the target is touched.
export async function openImage(file: string): Promise<ImageManifest> {
  const manifest = await readImageManifest(file)
  checkImageSize(file, (await stat(file)).size, manifest)
  return manifest
}

// Writes an image onto a card: every byte, in order, checked member by member as
// it is decoded. Refuses the system disk, anything mounted or too small, and asks
// first. O_EXCL makes the kernel refuse a device that something has mounted.
export async function restoreImageToDevice(
  file: string,
  device: string,
  opts: RestoreToDeviceOptions,
): Promise<InflatedImage & { target: TargetDevice; bytes: number; readBack: boolean; written: number }> {
  const manifest = await openImage(file)
  const ranges = opts.bmap ? await readBmap(file, manifest) : undefined
  const target = await checkTargetDevice(device, manifest.raw.bytes, { backupFile: file, ...opts.env })
  if (!(await opts.confirm(target, { bytes: manifest.raw.bytes, file })))
    throw new NotConfirmedError(device, 'the answer was not yes')
  const h = await openCardForWrite(device)
  const progress = opts.progress?.(manifest.raw.bytes, 'restore')
  progress?.start()
  let result
  let written = 0
  let next = 0
  try {
    result = await inflateImage(file, manifest, { ...opts, raw: true }, async (p) => {
      try {
        if (!ranges) {
          await writeFully(h, p.raw, p.rawOffset)
          written += p.raw.length
        } else {
          const w = await writeMapped(h, p.raw, p.rawOffset, ranges, next)
          next = w.next
          written += w.written
        }
      } catch (err) {
        throw new DestWriteError(
          device,
          `at byte ${p.rawOffset}: ${errnoText(err)}; the card holds a partial image, do not boot it`,
          { cause: err },
        )
      }
      progress?.addRead(p.raw.length)
    })
    await h.sync()
  } finally {
    progress?.stop()
    await h.close()
  }
  // The last close drops the device's page cache, so this reads the card itself.
  // With --bmap only the mapped ranges hold the image: each is checked against the .bmap's SHA-256.
  if (opts.readBack) {
    await readBack(device, ranges ? bmapRanges(ranges) : imageRanges(manifest), opts)
  }
  return { ...result, target, bytes: result.rawBytes, readBack: opts.readBack, written }
}

// Writes an image into a file: runs of zeros become holes, so a 238 GB card image
// holding 40 GB takes about 40 GB. Atomic like every other write: complete or absent.
export async function restoreImageToFile(
  file: string,
  output: string,
  opts: RestoreImageOptions,
): Promise<InflatedImage & { bytes: number; written: number }> {
  const manifest = await openImage(file)
  const out = await AtomicFile.create(output, { existsError: (p) => new TargetExistsError(p) })
  const progress = opts.progress?.(manifest.raw.bytes, 'restore')
  progress?.start()
  let written = 0
  try {
    const r = await inflateImage(file, manifest, { ...opts, extents: true, raw: true }, async (p) => {
      const ex = p.extents!
      for (let i = 0; i < ex.length; i += 2) {
        await out.writeAt(p.raw.subarray(ex[i], ex[i + 1]), p.rawOffset + ex[i]!)
        written += ex[i + 1]! - ex[i]!
      }
      progress?.addRead(p.raw.length)
    })
    await out.setLength(manifest.raw.bytes)
    await out.commit()
    return { ...r, bytes: r.rawBytes, written }
  } catch (err) {
    await out.abort()
    throw err
  } finally {
    progress?.stop()
  }
}
