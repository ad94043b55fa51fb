import { SourceUnreadableError } from '../errors.js'
import { wholeDiskName, wholeDiskOfPath } from './block-device.js'
import { readMountinfo, type MountEntry } from './mountinfo.js'

// The disk that holds `/`: what a Pi owner means by "the SD card" (/dev/mmcblk0).
// Resolved through the root mount's device number, then its source path if that fails.
// An overlay root (Raspberry Pi OS's read-only mode) is resolved through its lowest
// layer's mount (lowerdir=/media/root-ro): the card is still under it.
export function detectRootDisk(entries: readonly MountEntry[] = readMountinfo(), sysfs = '/sys'): string {
  const diskOf = (m: MountEntry | undefined) =>
    m &&
    (wholeDiskName(m.major, m.minor, sysfs) ??
      (m.source.startsWith('/dev/') ? wholeDiskOfPath(m.source, sysfs) : undefined))
  const root = entries.filter((e) => e.mountPoint === '/').at(-1)
  let disk = diskOf(root)
  if (!disk && root?.fsType === 'overlay') {
    const lower = /(?:^|,)lowerdir=([^,]+)/
      .exec(root.superOptions ?? '')?.[1]
      ?.split(':')
      .at(-1)
    disk = diskOf(entries.filter((e) => e.mountPoint === lower).at(-1))
  }
  if (!disk) {
    throw new SourceUnreadableError('/', 'cannot tell which disk holds / (no block device in sysfs); pass --device')
  }
  return `/dev/${disk}`
}
