import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { arrangeFirstBootExpand, EXPAND_BY_HAND } from '../../lib/restore/first-boot-expand.js'
import { sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'mkfs.vfat', 'mcopy', 'mkfs.ext4', 'debugfs')
const BOOT_AT = 1024 * 1024

// A staged head (a FAT boot partition at 1 MiB holding `cmdline`) and a staged root.
function staged(dir: string, cmdline: string | undefined, rpiOs: boolean) {
  const head = path.join(dir, 'head.img')
  sh(`truncate -s 17M '${head}' && mkfs.vfat -F 16 --offset 2048 '${head}' 16384 >/dev/null`)
  if (cmdline !== undefined) {
    writeFileSync(path.join(dir, 'cmdline.txt'), cmdline)
    sh(`MTOOLS_SKIP_CHECK=1 mcopy -i '${head}@@${BOOT_AT}' '${dir}/cmdline.txt' ::/`)
  }
  const content = path.join(dir, 'root')
  mkdirSync(path.join(content, 'etc'), { recursive: true })
  if (rpiOs) {
    for (const f of [
      'usr/lib/raspberrypi-sys-mods/firstboot',
      'usr/share/initramfs-tools/scripts/local-premount/firstboot',
    ]) {
      mkdirSync(path.dirname(path.join(content, f)), { recursive: true })
      writeFileSync(path.join(content, f), '#!/bin/sh\n')
    }
  }
  const root = path.join(dir, 'root.img')
  sh(`mkfs.ext4 -q -F -d '${content}' '${root}' 16M`)
  return { head, root }
}

const cmdline = (head: string) => sh(`MTOOLS_SKIP_CHECK=1 mtype -i '${head}@@${BOOT_AT}' ::cmdline.txt`)

test('Raspberry Pi OS: init=…/firstboot is added to cmdline.txt', async (t) => {
  const { head, root } = staged(tmp(t), 'console=tty1 root=PARTUUID=ab-02 rootwait\n', true)
  const r = await arrangeFirstBootExpand(head, BOOT_AT, root)
  t.equal(r.arranged, true)
  t.equal(cmdline(head), 'console=tty1 root=PARTUUID=ab-02 rootwait init=/usr/lib/raspberrypi-sys-mods/firstboot\n')
})

test('otherwise the owner is told what to run, and nothing is changed', async (t) => {
  const cases: Array<[string, string | undefined, boolean, number | undefined, RegExp]> = [
    ['no resize hook', 'root=/dev/mmcblk0p2\n', false, BOOT_AT, /has no \/usr\/lib\/raspberrypi-sys-mods\/firstboot/],
    ['init= already set', 'root=/dev/mmcblk0p2 init=/bin/sh\n', true, BOOT_AT, /already sets init= \(init=\/bin\/sh\)/],
    ['no cmdline.txt', undefined, true, BOOT_AT, /the boot partition has no cmdline\.txt/],
    ['no boot partition', 'x\n', true, undefined, /no FAT boot partition before the root/],
  ]
  for (const [name, text, rpiOs, at, why] of cases) {
    const { head, root } = staged(tmp(t), text, rpiOs)
    const r = await arrangeFirstBootExpand(head, at, root)
    t.equal(r.arranged, false, name)
    t.match(r.message, why, name)
    t.match(r.message, EXPAND_BY_HAND, name)
    if (text !== undefined && at !== undefined) t.equal(cmdline(head), text, `${name}: cmdline.txt unchanged`)
  }
  const { head, root } = staged(tmp(t), 'x\n', true)
  const r = await arrangeFirstBootExpand(head, BOOT_AT, root, { PATH: '/nonexistent' })
  t.match(r.message, /debugfs is not installed \(apt-get install e2fsprogs\)/)
})
