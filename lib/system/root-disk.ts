import { SourceUnreadableError } from '../errors.js'
import { wholeDiskName, wholeDiskOfPath } from './block-device.js'
import { readMountinfo, type MountEntry } from './mountinfo.js'

// The disk that holds `/`: what a Pi owner means by "the SD card" (/dev/mmcblk0).
// Resolved through the root mount's device number, then its source path if that fails.
export function detectRootDisk(entries: readonly MountEntry[] = readMountinfo(), sysfs = '/sys'): string {
  const root = entries.filter((e) => e.mountPoint === '/').at(-1)
  const disk =
    root &&
    (wholeDiskName(root.major, root.minor, sysfs) ??
      (root.source.startsWith('/dev/') ? wholeDiskOfPath(root.source, sysfs) : undefined))
  if (!disk) {
    throw new SourceUnreadableError('/', 'cannot tell which disk holds / (no block device in sysfs); pass --device')
  }
  return `/dev/${disk}`
}
