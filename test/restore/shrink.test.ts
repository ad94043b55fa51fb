import t from 'tap'
import type { Test } from 'tap'
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { restoreShrunkToFile } from '../../lib/restore/shrink-image.js'
import { ShrinkRefusedError } from '../../lib/errors.js'
import { bmapPathFor, manifestPathFor } from '../../lib/dest/layout.js'
import { buildCard, dumpFiles, treeDigest, type BuiltCard } from '../helpers/card.js'
import { runCli } from '../helpers/cli.js'
import { image, sh } from '../helpers/image.js'
import { loopDevice, mount, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sfdisk', 'mkfs.vfat', 'mkfs.ext4', 'mcopy', 'debugfs', 'e2fsck', 'resize2fs', 'dumpe2fs')

const MiB = 2 ** 20

// Raspberry Pi OS's first-boot resize, as far as restore --shrink looks for it.
const RPI_OS_ROOT = {
  'usr/lib/raspberrypi-sys-mods/firstboot': '#!/bin/bash\n',
  'usr/share/initramfs-tools/scripts/local-premount/firstboot': '#!/bin/sh\n',
}
const CMDLINE =
  'console=serial0,115200 console=tty1 root=PARTUUID=1234abcd-02 rootfstype=ext4 fsck.repair=yes rootwait\n'

// A card of a 32 MiB boot partition and an ext4 root (1 GiB in all by default, the
// root holding ~100 MiB), imaged used-blocks only. Smaller roots keep the other tests quick.
async function bigCard(t: Test, label: 'dos' | 'gpt', rpiOs = false, rootMib = 990, dataMib = 100) {
  const dir = tmp(t)
  const card = buildCard(dir, {
    label,
    parts: [
      { fs: 'vfat', mib: 32, mkfs: ['-F', '16'], ...(rpiOs ? { files: { 'cmdline.txt': CMDLINE } } : {}) },
      { fs: 'ext4', mib: rootMib, dataMib, ...(rpiOs ? { files: RPI_OS_ROOT } : {}) },
    ],
  })
  const r = await image(dir, card.file, { level: 1 })
  return { dir, card, file: r.file, m: r.manifest }
}

// The partitions as sfdisk reads them back: [start, size] in bytes.
function table(file: string): Array<[number, number]> {
  const j = JSON.parse(sh(`sfdisk -J '${file}'`)) as {
    partitiontable: { partitions: Array<{ start: number; size: number }> }
  }
  return j.partitiontable.partitions.map((p) => [p.start * 512, p.size * 512])
}

// Both filesystems of a restored card hold what the original held, and e2fsck finds the root clean.
function sameFiles(t: Test, card: BuiltCard, restored: string, rootSize: number, dir: string, label: string) {
  const [boot, root] = card.parts as [BuiltCard['parts'][0], BuiltCard['parts'][0]]
  t.same(
    treeDigest(dumpFiles(restored, boot, path.join(dir, `${label}-boot`))),
    treeDigest(boot.content),
    `${label}: the boot partition's files are equal`,
  )
  const shrunk = { ...root, size: rootSize }
  t.same(
    treeDigest(dumpFiles(restored, shrunk, path.join(dir, `${label}-root`))),
    treeDigest(root.content),
    `${label}: every file of the root is equal`,
  )
  sh(
    `dd if='${restored}' of='${dir}/${label}-root.img' bs=1M skip=${root.start / MiB} count=${rootSize / MiB} status=none`,
  )
  t.doesNotThrow(() => sh(`e2fsck -f -n '${dir}/${label}-root.img'`), `${label}: e2fsck -f finds the root clean`)
  const sb = sh(`dumpe2fs -h '${dir}/${label}-root.img' 2>/dev/null`)
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(sb)![1])
  t.equal(field('Block count') * field('Block size'), rootSize, `${label}: the filesystem fills its partition`)
}

for (const label of ['dos', 'gpt'] as const) {
  test(`${label}: a used-block image of a 1 GiB card restores onto a 600 MiB card, shrunk`, async (t) => {
    if (!needsRoot(t)) return
    const { dir, card, file } = await bigCard(t, label)
    const target = path.join(dir, 'small-card.img')
    sh(`head -c ${600 * MiB} /dev/urandom > '${target}'`) // a used card: stale bytes everywhere
    const dev = loopDevice(t, target)
    const r = await runCli(['restore', file, '--device', dev, '--shrink', '--verify', '--yes', '--tmp-dir', dir])
    t.equal(r.code, 0, r.stderr)
    t.match(
      r.stderr,
      /root filesystem shrunk from 990\.0 MiB to [\d.]+ MiB, [\d.]+ MiB written, read back and compared/,
    )
    t.match(r.stderr, /raspi-config nonint do_expand_rootfs/, 'no Raspberry Pi OS resize hook: says what to run')
    const parts = table(target)
    t.equal(parts.length, 2)
    const [start, size] = parts[1]!
    t.equal(start, card.parts[1]!.start, 'the root starts where it did')
    t.ok(start + size <= 600 * MiB - (label === 'gpt' ? 33 * 512 : 0), 'the root ends inside the card')
    t.ok(start + size >= 600 * MiB - 2 * MiB, 'and uses the card')
    if (label === 'gpt') {
      t.doesNotThrow(() => sh(`sfdisk --verify '${target}' 2>&1`), 'sfdisk finds both GPT headers sound')
      t.notMatch(sh(`sfdisk --verify '${target}' 2>&1`), /backup|corrupt|mismatch/i)
    }
    sameFiles(t, card, target, size, dir, label)
  })
}

test('a card too small for the data is refused before anything is written', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file } = await bigCard(t, 'dos', false, 480, 20)
  const target = path.join(dir, 'tiny-card.img')
  sh(`head -c ${200 * MiB} /dev/urandom > '${target}'`)
  const before = sh(`sha256sum < '${target}'`)
  const dev = loopDevice(t, target)
  const r = await runCli(['restore', file, '--device', dev, '--shrink', '--yes', '--tmp-dir', dir])
  t.equal(r.code, 27, r.stderr)
  t.match(r.stderr, /is too small: 209715200 bytes, the image needs \d+ even with its root filesystem shrunk/)
  t.match(r.stderr, /nothing was written/)
  t.equal(sh(`sha256sum < '${target}'`), before, 'the card is untouched')
})

test('--output --shrink: the smallest image, near what list says, grown back at first boot', async (t) => {
  const { dir, card, file } = await bigCard(t, 'gpt', true, 480, 20)
  const list = await runCli(['list', '--dest', path.join(dir, 'nas'), '--json'])
  t.equal(list.code, 0, list.stderr)
  const [row] = JSON.parse(list.stdout) as Array<{ smallestCardBytes: number | null; rawBytes: number }>
  t.ok(row!.smallestCardBytes! < row!.rawBytes, `list: smallest card ${row!.smallestCardBytes} of ${row!.rawBytes}`)
  const human = await runCli(['list', '--dest', path.join(dir, 'nas')])
  t.match(human.stdout, /SMALLEST CARD/)
  const out = path.join(dir, 'shrunk.img')
  const r = await runCli(['restore', file, '--output', out, '--shrink', '--tmp-dir', dir])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /grows the root filesystem to fill the card \(init=\/usr\/lib\/raspberrypi-sys-mods\/firstboot/)
  const size = statSync(out).size
  // list estimates from the manifest; resize2fs -P, which restore asks, may want a little more on a small card.
  t.ok(
    size >= row!.smallestCardBytes! - MiB && size <= row!.smallestCardBytes! + 64 * MiB,
    `${size} bytes, near list's smallest card (${row!.smallestCardBytes})`,
  )
  t.equal(statSync(out).mode & 0o777, 0o600)
  t.doesNotThrow(() => sh(`sfdisk --verify '${out}' 2>&1`))
  const [start, rootSize] = table(out)[1]!
  t.equal(start + rootSize + MiB, size, 'the root ends 1 MiB before the end (GPT backup)')
  const cmdline = sh(`MTOOLS_SKIP_CHECK=1 mtype -i '${out}@@${card.parts[0]!.start}' ::cmdline.txt`)
  t.equal(cmdline, `${CMDLINE.trim()} init=/usr/lib/raspberrypi-sys-mods/firstboot\n`)
  // The boot partition's files are equal but for the edited cmdline.txt.
  writeFileSync(path.join(card.parts[0]!.content, 'cmdline.txt'), cmdline)
  sameFiles(t, card, out, rootSize, dir, 'output')
  const again = await runCli(['restore', file, '--output', out, '--shrink', '--tmp-dir', dir])
  t.equal(again.code, 29, 'an existing output is never overwritten')
  t.same(
    sh(`ls -A '${dir}'`)
      .split('\n')
      .filter((f) => f.startsWith('sd-backup-shrink-')),
    [],
    'the staging directory is gone',
  )
})

test('refusals: a last partition that is not ext, missing e2fsprogs, no room to stage', async (t) => {
  const dir = tmp(t)
  const card = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'ext4', mib: 24, dataMib: 2 },
      { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
    ],
  })
  const { file } = await image(dir, card.file, { level: 1 })
  const out = path.join(dir, 'out.img')
  const r = await runCli(['restore', file, '--output', out, '--shrink', '--tmp-dir', dir])
  t.equal(r.code, 37, r.stderr)
  t.match(
    r.stderr,
    /its last partition \(2, vfat \(FAT16\)\) is not ext2\/3\/4: only a last ext root filesystem can be shrunk/,
  )
  t.notOk(existsSync(out), 'no output file')

  const { file: good } = await bigCard(t, 'dos', false, 480, 20)
  const empty = path.join(dir, 'empty-bin')
  mkdirSync(empty)
  await t.rejects(
    restoreShrunkToFile(good, out, { workers: 2, tmpDir: dir, toolEnv: { PATH: empty } }),
    new ShrinkRefusedError(good, 'e2fsck is not installed: apt-get install e2fsprogs'),
  )
  t.notOk(existsSync(out))
  const bmap = await runCli(['restore', good, '--output', out, '--shrink', '--bmap'])
  t.equal(bmap.code, 2)
  // A manifest another machine rewrote: partitions past the image's end, a size that is not a number.
  const hostileDir = path.join(dir, 'hostile')
  mkdirSync(hostileDir)
  const hostile = path.join(hostileDir, path.basename(good))
  copyFileSync(good, hostile)
  copyFileSync(bmapPathFor(good), bmapPathFor(hostile))
  for (const [label, edit] of [
    ['past the end', (p: Record<string, unknown>) => (p.start = 2 ** 40)],
    ['not a number', (p: Record<string, unknown>) => (p.size = '1e9')],
  ] as const) {
    const m = JSON.parse(readFileSync(manifestPathFor(good), 'utf8')) as {
      layout: { partitions: Array<Record<string, unknown>> }
    }
    edit(m.layout.partitions.at(-1)!)
    writeFileSync(manifestPathFor(hostile), JSON.stringify(m))
    const h = await runCli(['restore', hostile, '--output', out, '--shrink', '--tmp-dir', dir])
    t.equal(h.code, 37, `${label}: ${h.stderr}`)
    t.match(h.stderr, /its manifest's partition layout is not usable: /, label)
    t.notOk(existsSync(out), `${label}: nothing written`)
  }
  const nowhere = await runCli(['restore', good, '--output', out, '--shrink', '--tmp-dir', path.join(dir, 'none')])
  t.equal(nowhere.code, 37)
  t.match(nowhere.stderr, /cannot stage in --tmp-dir .*none: ENOENT/)
  if (!needsRoot(t)) return
  const small = mount(t, 'tmpfs', path.join(dir, 'small-tmp'), '-t tmpfs -o size=32m')
  const full = await runCli(['restore', good, '--output', out, '--shrink', '--tmp-dir', small])
  t.equal(full.code, 37, full.stderr)
  t.match(full.stderr, /--tmp-dir .* has 32\.0 MiB free; staging the image needs \d+ bytes/)
  t.notOk(existsSync(out))
})
