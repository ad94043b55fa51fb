import { readFileSync, realpathSync, existsSync, statSync } from 'node:fs'
import path from 'node:path'

// Linux dev_t → major/minor, as the kernel's new_decode_dev does.
export function devMajorMinor(dev: number): { major: number; minor: number } {
  const big = BigInt(dev)
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn))
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn))
  return { major, minor }
}

// Size of a block device in bytes from sysfs, which always counts 512-byte sectors.
export function blockDeviceSize(major: number, minor: number, sysfs = '/sys'): number {
  const text = readFileSync(path.join(sysfs, 'dev/block', `${major}:${minor}`, 'size'), 'utf8')
  return Number(text.trim()) * 512
}

// The whole disk a block device belongs to (mmcblk0p2 → mmcblk0), by name, from sysfs.
// Undefined when sysfs does not know the device (e.g. anonymous 0:N filesystems).
export function wholeDiskName(major: number, minor: number, sysfs = '/sys'): string | undefined {
  const link = path.join(sysfs, 'dev/block', `${major}:${minor}`)
  if (!existsSync(link)) return undefined
  const real = realpathSync(link)
  return existsSync(path.join(real, 'partition')) ? path.basename(path.dirname(real)) : path.basename(real)
}

// The whole disk behind a /dev path or a device number, or undefined if not a block device.
export function wholeDiskOfPath(devPath: string, sysfs = '/sys'): string | undefined {
  try {
    const st = statSync(devPath)
    if (!st.isBlockDevice()) return undefined
    const { major, minor } = devMajorMinor(st.rdev)
    return wholeDiskName(major, minor, sysfs)
  } catch {
    return undefined
  }
}
