import { open, readdir, rm, stat, statfs } from 'node:fs/promises'
import path from 'node:path'
import { BackupExistsError, DestOnSourceError, InsufficientSpaceError } from '../errors.js'
import { checkMounted } from '../dest/check-mount.js'
import { isImageName } from '../dest/layout.js'
import { makeDirs } from '../dest/make-dirs.js'
import { destError } from '../dest/write-atomic.js'
import { devMajorMinor, wholeDiskName, wholeDiskOfPath } from '../system/block-device.js'
import { mountOf, readMountinfo, type MountEntry } from '../system/mountinfo.js'
import { realpathExisting } from '../util/realpath-existing.js'

export interface PreflightInput {
  readonly dest: string
  readonly mount: string | undefined
  /** Whole-disk name of the source (mmcblk0), undefined for an image file. */
  readonly sourceDisk: string | undefined
  readonly station: string
  readonly imageDir: string
  readonly imageFile: string
  readonly minFree: number | undefined
  readonly mountinfo?: readonly MountEntry[]
  readonly sysfs?: string
}

export interface PreflightResult {
  readonly available: number
  readonly needed: number | undefined
  readonly basis: string
}

// Everything that can be known to fail is checked before a byte is read, each with
// its own error: NAS mounted, dest inside it, dest not on the source disk, no backup
// of today yet, the directory writable, enough free space.
export async function preflight(input: PreflightInput): Promise<PreflightResult> {
  const entries = input.mountinfo ?? readMountinfo()
  if (input.mount !== undefined) await checkMounted(input.mount, input.dest, entries)
  if (input.sourceDisk !== undefined) await checkNotOnSource(input.dest, input.sourceDisk, entries, input.sysfs)
  await checkNotExisting(input.imageFile)
  await makeDirs(input.imageDir)
  await probeWritable(input.imageDir)
  return checkFreeSpace(input)
}

// The filesystem of dest (or its nearest existing parent) must not be on the source disk.
async function checkNotOnSource(
  dest: string,
  sourceDisk: string,
  entries: readonly MountEntry[],
  sysfs?: string,
): Promise<void> {
  const real = await realpathExisting(dest)
  const { major, minor } = devMajorMinor((await stat(await existingAncestor(real))).dev)
  const disks = new Set([wholeDiskName(major, minor, sysfs)])
  const m = mountOf(entries, real)
  if (m) {
    disks.add(wholeDiskName(m.major, m.minor, sysfs))
    if (m.source.startsWith('/dev/')) disks.add(wholeDiskOfPath(m.source, sysfs))
  }
  if (disks.has(sourceDisk)) throw new DestOnSourceError(dest, `/dev/${sourceDisk}`)
}

async function checkNotExisting(file: string): Promise<void> {
  try {
    await stat(file)
  } catch {
    return
  }
  throw new BackupExistsError(file)
}

// A real create-write-remove, because permission bits say nothing under root squash.
async function probeWritable(dir: string): Promise<void> {
  const probe = path.join(dir, `.sd-backup-probe.${process.pid}`)
  try {
    const h = await open(probe, 'wx')
    try {
      await h.write(Buffer.from('probe\n'))
      await h.sync()
    } finally {
      await h.close()
    }
  } catch (err) {
    await rm(probe, { force: true }).catch(() => {})
    throw destError(probe, 0, err)
  }
  await rm(probe)
}

// Needed: --min-free, else the newest earlier image of this station x 1.2.
async function checkFreeSpace(input: PreflightInput): Promise<PreflightResult> {
  const fs = await statfs(input.imageDir)
  const available = fs.bavail * fs.bsize
  let needed = input.minFree
  let basis = needed === undefined ? 'no earlier image to estimate from' : '--min-free'
  if (needed === undefined) {
    const prev = (await readdir(input.imageDir))
      .filter((n) => isImageName(n, input.station))
      .sort()
      .at(-1)
    if (prev) {
      needed = Math.ceil((await stat(path.join(input.imageDir, prev))).size * 1.2)
      basis = `previous image ${prev} x 1.2`
    }
  }
  if (needed !== undefined && available < needed) {
    throw new InsufficientSpaceError(input.imageDir, available, needed, basis)
  }
  return { available, needed, basis }
}

async function existingAncestor(p: string): Promise<string> {
  for (let cur = p; ; cur = path.dirname(cur)) {
    try {
      await stat(cur)
      return cur
    } catch (err) {
      if (path.dirname(cur) === cur) throw err
    }
  }
}
