import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { TargetInUseError, TargetIsSystemDiskError, TargetTooSmallError, UsageError } from '../errors.js'
import { blockDeviceSize, devMajorMinor, wholeDiskName } from '../system/block-device.js'
import { readMountinfo, type MountEntry } from '../system/mountinfo.js'
import { detectRootDisk } from '../system/root-disk.js'

// What the person confirming a restore is shown about the card.
export interface TargetDevice {
  readonly path: string
  readonly name: string
  readonly size: number
  readonly model: string
}

// The system's view, injected by tests: which disk is "the system disk" and what
// is mounted. Tests point these at loop devices; never at a real disk.
export interface TargetEnvironment {
  readonly mountinfo?: readonly MountEntry[]
  readonly sysfs?: string
  /** The disk holding /, e.g. /dev/mmcblk0; detected when absent. */
  readonly systemDisk?: string
  /** /proc/swaps text. */
  readonly swaps?: string
  /** The backup being restored: its disk is refused too. */
  readonly backupFile?: string
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim() : '')

// The make and model as the kernel knows them: vendor + model for USB/SCSI readers,
// the card's name for MMC, the backing file for a loop device.
export function deviceModel(sysBlock: string): string {
  const parts = [
    read(path.join(sysBlock, 'device/vendor')),
    read(path.join(sysBlock, 'device/model')) || read(path.join(sysBlock, 'device/name')),
  ].filter(Boolean)
  const backing = read(path.join(sysBlock, 'loop/backing_file'))
  return parts.join(' ') || (backing ? `loop device backed by ${backing}` : 'unknown model')
}

function tryRootDisk(entries: readonly MountEntry[], sysfs: string): string | undefined {
  try {
    return detectRootDisk(entries, sysfs)
  } catch {
    return undefined
  }
}

// Decides whether `device` may be overwritten with an image of `needed` bytes: a
// whole disk, not the system disk (nor the disk holding the backup), nothing on it
// mounted, used as swap or held by device-mapper/md, and large enough.
export async function checkTargetDevice(
  device: string,
  needed: number,
  env: TargetEnvironment = {},
): Promise<TargetDevice> {
  const sysfs = env.sysfs ?? '/sys'
  const st = await stat(device).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--device ${device}: ${err.code === 'ENOENT' ? 'no such device' : err.message}`)
  })
  if (!st.isBlockDevice())
    throw new UsageError(`--device ${device} is not a block device; to restore into a file use --output`)
  const { major, minor } = devMajorMinor(st.rdev)
  const sysBlock = realpathSync(path.join(sysfs, 'dev/block', `${major}:${minor}`))
  const name = path.basename(sysBlock)
  if (existsSync(path.join(sysBlock, 'partition'))) {
    throw new UsageError(
      `--device ${device} is a partition of /dev/${path.basename(path.dirname(sysBlock))}: an image restores to ` +
        `the whole disk`,
    )
  }
  // Where the system disk cannot be told (an unusual root), the mount checks below
  // still refuse it: its partitions are mounted.
  const system = env.systemDisk ?? tryRootDisk(env.mountinfo ?? readMountinfo(), sysfs)
  if (system !== undefined && path.basename(system) === name)
    throw new TargetIsSystemDiskError(device, `it is ${system}, the disk the running system lives on`)
  if (env.backupFile) {
    const { major: bm, minor: bn } = devMajorMinor((await stat(env.backupFile)).dev)
    if (wholeDiskName(bm, bn, sysfs) === name)
      throw new TargetIsSystemDiskError(device, `it holds the backup being restored (${env.backupFile})`)
  }
  const parts = readdirSync(sysBlock, { withFileTypes: true })
    .filter((d) => existsSync(path.join(sysBlock, d.name, 'partition')))
    .map((d) => d.name)
  const devs = new Map([
    [`${major}:${minor}`, name],
    ...parts.map((p) => [read(path.join(sysBlock, p, 'dev')), p] as [string, string]),
  ])
  for (const m of env.mountinfo ?? readMountinfo()) {
    const hit = devs.get(`${m.major}:${m.minor}`)
    if (hit) throw new TargetInUseError(device, `/dev/${hit} is mounted on ${m.mountPoint}`)
  }
  for (const n of [name, ...parts]) {
    const holders = path.join(sysBlock, n === name ? '' : n, 'holders')
    const held = existsSync(holders) ? readdirSync(holders) : []
    if (held.length)
      throw new TargetInUseError(device, `/dev/${n} is in use by ${held.join(', ')} (device-mapper, RAID or LVM)`)
  }
  const swaps = env.swaps ?? read('/proc/swaps')
  for (const line of swaps.split('\n').slice(1)) {
    const dev = line.split(/\s+/)[0] ?? ''
    if ([name, ...parts].some((n) => dev === `/dev/${n}`))
      throw new TargetInUseError(device, `${dev} is in use as swap`)
  }
  const size = blockDeviceSize(major, minor, sysfs)
  if (size < needed) throw new TargetTooSmallError(device, size, needed)
  return { path: device, name, size, model: deviceModel(sysBlock) }
}
