import t from 'tap'
import type { Test } from 'tap'
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { blockDeviceSize, devMajorMinor, wholeDiskName, wholeDiskOfPath } from '../../lib/system/block-device.js'
import { isInside, mountOf, parseMountinfo, readMountinfo } from '../../lib/system/mountinfo.js'
import { detectRootDisk } from '../../lib/system/root-disk.js'
import { SourceUnreadableError } from '../../lib/errors.js'
import { tmp } from '../helpers/tmp.js'

// A Pi's mount table: the root on mmcblk0p2, boot on p1, the NAS over NFS.
const PI = `22 1 179:2 / / rw,noatime shared:1 - ext4 /dev/root rw
24 22 179:1 / /boot/firmware rw,relatime shared:2 - vfat /dev/mmcblk0p1 rw
40 22 0:52 / /mnt/nas\\040backup rw,relatime shared:30 - nfs4 nas:/volume1/backup rw,vers=4.2
garbage line
`

// A fake sysfs with the layout the kernel uses for disks and their partitions.
function fakeSysfs(t: Test): string {
  const sys = tmp(t)
  const disk = path.join(sys, 'devices/platform/mmc/block/mmcblk0')
  mkdirSync(path.join(disk, 'mmcblk0p2'), { recursive: true })
  mkdirSync(path.join(disk, 'mmcblk0p1'), { recursive: true })
  writeFileSync(path.join(disk, 'size'), '500118192\n')
  writeFileSync(path.join(disk, 'mmcblk0p2', 'partition'), '2\n')
  writeFileSync(path.join(disk, 'mmcblk0p1', 'partition'), '1\n')
  mkdirSync(path.join(sys, 'dev/block'), { recursive: true })
  symlinkSync(disk, path.join(sys, 'dev/block/179:0'))
  symlinkSync(path.join(disk, 'mmcblk0p1'), path.join(sys, 'dev/block/179:1'))
  symlinkSync(path.join(disk, 'mmcblk0p2'), path.join(sys, 'dev/block/179:2'))
  return sys
}

t.test('mountinfo: fields, escapes, and which mount holds a path', async (t) => {
  const m = parseMountinfo(PI)
  t.equal(m.length, 3, 'the garbage line is skipped')
  t.same(m[2], {
    major: 0,
    minor: 52,
    mountPoint: '/mnt/nas backup',
    fsType: 'nfs4',
    source: 'nas:/volume1/backup',
    superOptions: 'rw,vers=4.2',
  })
  t.equal(mountOf(m, '/mnt/nas backup/zolder')?.fsType, 'nfs4')
  t.equal(mountOf(m, '/mnt/nas')?.mountPoint, '/', 'a sibling name is not inside')
  t.equal(mountOf(m, '/boot/firmware/config.txt')?.source, '/dev/mmcblk0p1')
  t.ok(isInside('/a/b', '/a'))
  t.ok(isInside('/a', '/a'))
  t.notOk(isInside('/ab', '/a'))
  t.notOk(isInside('/', '/a'))
  t.ok(
    readMountinfo().some((e) => e.mountPoint === '/'),
    'this machine has a root mount',
  )
})

t.test('whole disk and size from sysfs: partitions map to their disk', async (t) => {
  const sys = fakeSysfs(t)
  t.equal(wholeDiskName(179, 2, sys), 'mmcblk0')
  t.equal(wholeDiskName(179, 0, sys), 'mmcblk0')
  t.equal(wholeDiskName(8, 0, sys), undefined)
  t.equal(blockDeviceSize(179, 0, sys), 500118192 * 512)
  t.equal(detectRootDisk(parseMountinfo(PI), sys), '/dev/mmcblk0')
  t.throws(
    () => detectRootDisk(parseMountinfo('1 0 0:20 / / rw - overlay overlay rw\n'), sys),
    new SourceUnreadableError('/', 'cannot tell which disk holds / (no block device in sysfs); pass --device'),
  )
  t.equal(
    detectRootDisk(
      parseMountinfo(
        '1 0 0:20 / / rw - overlay overlay rw,lowerdir=/media/root-ro,upperdir=/media/root-rw/o\n2 1 179:2 / /media/root-ro ro - ext4 /dev/mmcblk0p2 ro\n',
      ),
      sys,
    ),
    '/dev/mmcblk0',
    'an overlay root: the disk under its lower layer',
  )
  t.throws(() => detectRootDisk([], sys), { code: 'SDB_SOURCE_UNREADABLE' })
  t.same(devMajorMinor(statSync('/dev/null').rdev), { major: 1, minor: 3 })
  t.same(devMajorMinor(0x1234567), { major: 0x345, minor: 0x1267 }, 'minor above 255 uses the high bits')
  t.equal(wholeDiskOfPath('/dev/null', sys), undefined, 'a character device is no disk')
  t.equal(wholeDiskOfPath('/nonexistent', sys), undefined)
})

t.test('on this machine the disk holding / is detected (read only: nothing is opened)', async (t) => {
  let disk: string
  try {
    disk = detectRootDisk()
  } catch (err) {
    t.match(err, { code: 'SDB_SOURCE_UNREADABLE' }, 'a root without a block device (container) is explained')
    return
  }
  t.match(disk, /^\/dev\/[a-z0-9]+$/)
  t.ok(statSync(disk).isBlockDevice())
  t.equal(wholeDiskOfPath(disk), disk.slice(5), 'it is a whole disk, not a partition')
})
