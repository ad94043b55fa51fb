import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { NotConfirmedError, ReadBackMismatchError, TargetExistsError, TargetInUseError, DestWriteError } from '../errors.js'
import type { Progress } from '../image/progress.js'
import { AtomicFile } from '../image/write-atomic.js'
import { errnoText } from '../image/read-source.js'
import { inflateImage, type InflatedImage } from '../verify/inflate-image.js'
import { ZeroMembers } from '../verify/zero-members.js'
import type { ImageManifest } from '../image/manifest.js'
import { sha256OfFile } from '../util/sha256-file.js'
import { checkImageSize, readImageManifest } from '../verify/read-image-manifest.js'
import { readBmap, type MappedRange } from './read-bmap.js'
import { checkTargetDevice, type TargetDevice, type TargetEnvironment } from './check-target.js'

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
async function writeMapped(h: FileHandle, raw: Buffer, at: number, ranges: readonly MappedRange[], from: number): Promise<{ next: number; written: number }> {
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

// Version 2 read-back: the card, member by member, against each member's SHA-256
// (zeros' digest from the length), through one descriptor in 4 MiB reads.
async function readBackMembers(device: string, m: ImageManifest, progress?: Progress): Promise<void> {
  const zeros = new ZeroMembers(m.compressed.codec, m.compressed.level)
  const h = await open(device, 'r')
  const buf = Buffer.allocUnsafe(4 * 2 ** 20)
  progress?.start()
  try {
    let at = 0
    for (const [index, [, , rawLength, , digest]] of m.members.entries()) {
      const hash = createHash('sha256')
      for (let done = 0; done < rawLength; ) {
        const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, rawLength - done), at + done)
        if (bytesRead === 0) throw new ReadBackMismatchError(device, String(digest), 'nothing (the card ends early)', `member ${index}`)
        hash.update(buf.subarray(0, bytesRead))
        done += bytesRead
        progress?.addRead(bytesRead)
      }
      const want = digest === 0 ? zeros.digest(rawLength) : String(digest)
      const got = hash.digest('hex')
      if (got !== want) throw new ReadBackMismatchError(device, want, got, `member ${index} (bytes ${at}-${at + rawLength})`)
      at += rawLength
    }
  } finally {
    progress?.stop()
    await h.close()
  }
}

// Reads and checks an image's manifest and size before a byte of the target is touched.
async function openImage(file: string) {
  const manifest = await readImageManifest(file)
  checkImageSize(file, (await stat(file)).size, manifest)
  return manifest
}

async function writeFully(h: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < buf.length; ) done += (await h.write(buf, done, buf.length - done, position + done)).bytesWritten
}

// Writes an image onto a card: every byte, in order, checked member by member as
// it is decoded. Refuses the system disk, anything mounted or too small, and asks
// first. O_EXCL makes the kernel refuse a device that something has mounted.
export async function restoreImageToDevice(file: string, device: string, opts: RestoreToDeviceOptions): Promise<InflatedImage & { target: TargetDevice; bytes: number; readBack: boolean; written: number }> {
  const manifest = await openImage(file)
  const ranges = opts.bmap ? await readBmap(file, manifest) : undefined
  const target = await checkTargetDevice(device, manifest.raw.bytes, { backupFile: file, ...opts.env })
  if (!(await opts.confirm(target, { bytes: manifest.raw.bytes, file }))) throw new NotConfirmedError(device, 'the answer was not yes')
  let h: FileHandle
  try {
    h = await open(device, constants.O_WRONLY | constants.O_EXCL)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBUSY') throw new TargetInUseError(device, 'the kernel reports it busy (mounted or opened exclusively)')
    throw err
  }
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
        throw new DestWriteError(device, `at byte ${p.rawOffset}: ${errnoText(err)}; the card holds a partial image, do not boot it`, { cause: err })
      }
      progress?.addRead(p.raw.length)
    })
    await h.sync()
  } finally {
    progress?.stop()
    await h.close()
  }
  // The last close drops the device's page cache, so this reads the card itself.
  // With --bmap only the mapped ranges hold the image: each is read back against the .bmap's SHA-256.
  if (opts.readBack && ranges) {
    for (const r of ranges) {
      const sha = await sha256OfFile(device, { start: r.start, bytes: r.end - r.start })
      if (sha !== r.sha256) throw new ReadBackMismatchError(device, r.sha256, sha, `bytes ${r.start}-${r.end}`)
    }
  } else if (opts.readBack) {
    const whole = manifest.raw.sha256
    // Version 1 has only the whole image's SHA-256; version 2 says which member differs.
    if (manifest.raw.root !== undefined || whole === undefined) await readBackMembers(device, manifest, opts.progress?.(manifest.raw.bytes, 'read back'))
    else {
      const sha = await sha256OfFile(device, { bytes: manifest.raw.bytes, progress: opts.progress?.(manifest.raw.bytes, 'read back') })
      if (sha !== whole) throw new ReadBackMismatchError(device, whole, sha)
    }
  }
  return { ...result, target, bytes: result.rawBytes, readBack: opts.readBack, written }
}

// Writes an image into a file: runs of zeros become holes, so a 238 GB card image
// holding 40 GB takes about 40 GB. Atomic like every other write: complete or absent.
export async function restoreImageToFile(file: string, output: string, opts: RestoreImageOptions): Promise<InflatedImage & { bytes: number; written: number }> {
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
