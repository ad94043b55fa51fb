import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { TargetInUseError, TargetIsSystemDiskError, TargetTooSmallError } from '../../lib/errors.js'
import { checkTargetDevice } from '../../lib/restore/check-target.js'
import { parseMountinfo } from '../../lib/system/mountinfo.js'
import { restoreImageToDevice } from '../../lib/restore/restore-image.js'
import { runCli } from '../helpers/cli.js'
import { image, mixedContent, sh, sha256File } from '../helpers/image.js'
import { loopDevice, mount, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'mkfs.ext4')

const MiB = 2 ** 20

// A 6 MiB "card" with long runs of zeros (free space), imaged in 64 KiB members.
async function setup(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  const card = Buffer.alloc(6 * MiB)
  mixedContent(MiB, 3).copy(card, 0)
  mixedContent(MiB, 4).copy(card, 4 * MiB)
  writeFileSync(src, card)
  const r = await image(dir, src)
  return { dir, src, file: r.file, bytes: card.length, sha: await sha256File(src) }
}

// A blank file of `size` bytes on a writable loop device: the only kind of target these tests write to.
function blankCard(t: Test, dir: string, size: number, name = 'target.img') {
  const f = path.join(dir, name)
  sh(`truncate -s ${size} '${f}'`)
  return { f, dev: loopDevice(t, f) }
}

const deviceSha = (dev: string, bytes: number) => sh(`head -c ${bytes} ${dev} | sha256sum`).split(' ')[0]

test('to a sparse file: the same bytes as the card, holes where it held zeros', async (t) => {
  const { dir, file, bytes, sha } = await setup(t)
  const out = path.join(dir, 'restored.img')
  const r = await runCli(['restore', file, '--output', out, '--workers', '2'])
  t.equal(r.code, 0, r.stderr)
  t.equal(await sha256File(out), sha)
  const [blocks, size] = sh(`stat -c '%b %s' '${out}'`).trim().split(' ').map(Number)
  t.equal(size, bytes)
  t.ok(blocks! * 512 < bytes / 2, `${blocks! * 512} bytes allocated for ${bytes}`)
  t.equal(sh(`gunzip -c '${file}' | sha256sum`).split(' ')[0], sha, 'plain gunzip gives the same bytes')
  t.match(r.stderr, /restored 6\.0 MiB to .*restored\.img \(1?\.?\d+\.\d MiB of data, the rest holes\)/)
  t.match(await runCli(['restore', file, '--output', out]), { code: 29 })
  t.match(await runCli(['restore', file]), {
    code: 2,
    stderr: /restoring an image needs exactly one of --device DEV or --output FILE/,
  })
})

test('to a card (loop device): confirmed, written, read back', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file, bytes, sha } = await setup(t)
  const { f, dev } = blankCard(t, dir, 8 * MiB)
  const r = await runCli(['restore', file, '--device', dev, '--yes', '--verify', '--workers', '2'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, `about to overwrite ${dev} (loop device backed by ${f}, 8.0 MiB)`)
  t.match(r.stderr, /root digest [0-9a-f]{64}, read back and compared/)
  t.equal(deviceSha(dev, bytes), sha)
})

test('asks first: without a terminal and --yes, or with any answer but yes, nothing is written', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file, bytes } = await setup(t)
  const { dev } = blankCard(t, dir, 8 * MiB)
  const zeros = deviceSha(dev, bytes)
  t.match(await runCli(['restore', file, '--device', dev]), {
    code: 28,
    stderr: /there is no terminal to ask on; pass --yes/,
  })
  t.match(await runCli(['restore', file, '--device', dev], { stdin: 'y\n' }), {
    code: 28,
    stderr: /type yes to continue/,
  })
  t.equal(deviceSha(dev, bytes), zeros)
  t.match(await runCli(['restore', file, '--device', dev], { stdin: 'yes\n' }), { code: 0 })
})

test('refuses a card that is too small, saying by how many bytes', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file, bytes } = await setup(t)
  const { dev } = blankCard(t, dir, 5 * MiB)
  await t.rejects(checkTargetDevice(dev, bytes), new TargetTooSmallError(dev, 5 * MiB, bytes))
  t.match(await runCli(['restore', file, '--device', dev, '--yes']), { code: 27, stderr: `(${MiB} bytes short)` })
})

test('refuses a mounted card', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file } = await setup(t)
  const { f, dev } = blankCard(t, dir, 8 * MiB)
  sh(`mkfs.ext4 -q -F '${f}'`)
  const mnt = mount(t, dev, path.join(dir, 'mnt'), '')
  t.match(await runCli(['restore', file, '--device', dev, '--yes']), {
    code: 25,
    stderr: `refusing to write to ${dev}: /dev/${path.basename(dev)} is mounted on ${mnt}`,
  })
})

test('refuses the system disk (injected), swap, and what is not a whole block device', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file, bytes, src } = await setup(t)
  const { dev } = blankCard(t, dir, 8 * MiB)
  const zeros = deviceSha(dev, bytes)
  const err = await restoreImageToDevice(file, dev, {
    workers: 2,
    readBack: false,
    confirm: async () => true,
    env: { systemDisk: dev },
  }).catch((e: unknown) => e)
  t.same(err, new TargetIsSystemDiskError(dev, `it is ${dev}, the disk the running system lives on`))
  t.equal(deviceSha(dev, bytes), zeros, 'not a byte written')
  await t.rejects(
    checkTargetDevice(dev, bytes, { swaps: `Filename Type Size Used Priority\n${dev} partition 8192 0 -2\n` }),
    new TargetInUseError(dev, `${dev} is in use as swap`),
  )
  t.match(await runCli(['restore', file, '--device', src, '--yes']), {
    code: 2,
    stderr: /is not a block device; to restore into a file use --output/,
  })
  t.match(await runCli(['restore', file, '--device', path.join(dir, 'nope'), '--yes']), {
    code: 2,
    stderr: /no such device/,
  })
})

test('with an overlay root (read-only mode), restore finds the card under it, and works where it cannot', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file, bytes } = await setup(t)
  const { dev } = blankCard(t, dir, 8 * MiB)
  const rdev = sh(`stat -c '%t:%T' ${dev}`)
    .trim()
    .split(':')
    .map((h) => parseInt(h, 16))
  const overlay = (lower: string) =>
    parseMountinfo(
      `1 0 0:20 / / rw - overlay overlay rw,lowerdir=/media/root-ro,upperdir=/media/root-rw/overlay\n2 1 ${lower} / /media/root-ro ro - ext4 /dev/x ro\n`,
    )
  // The lower layer on the loop device: it is the system disk, refused as such.
  const err = await checkTargetDevice(dev, bytes, { mountinfo: overlay(`${rdev[0]}:${rdev[1]}`), swaps: '' }).catch(
    (e: unknown) => e,
  )
  t.match(err, { code: 'SDB_TARGET_SYSTEM_DISK' }, 'the loop device under the overlay is the system disk')
  // The lower layer on a disk this machine does not have: the target is checked by its mounts alone and accepted.
  const ok = await checkTargetDevice(dev, bytes, { mountinfo: overlay('250:99'), swaps: '' })
  t.equal(ok.path, dev)
  const r = await restoreImageToDevice(file, dev, {
    workers: 2,
    readBack: true,
    confirm: async () => true,
    env: { mountinfo: overlay('250:99'), swaps: '' },
  })
  t.ok(r, 'restore --device with an overlay root works')
})
