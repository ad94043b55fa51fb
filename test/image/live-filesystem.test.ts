import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { buildCard, extractPart, treeDigest } from '../helpers/card.js'
import { image, sh } from '../helpers/image.js'
import { loopDevice, mount, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'debugfs', 'e2fsck', 'gzip', 'mcopy', 'mkfs.ext4', 'mkfs.vfat', 'sfdisk')

// The root filesystem is mounted read-write while it is imaged. A writer keeps
// creating, syncing and deleting files during the whole run; the image is
// crash-consistent at best, but e2fsck must always be able to make it mountable,
// and the files that were there before the image began must be intact.
test('a file written while the image runs never leaves the restored filesystem unmountable', async (t) => {
  if (!needsRoot(t)) return
  const dir = tmp(t)
  const card = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
      { fs: 'ext4', mib: 96, mkfs: ['-b', '4096'] },
    ],
  })
  const root = card.parts[1]!
  const source = loopDevice(t, card.file, '-r')
  const rootDev = loopDevice(t, card.file, `-o ${root.start} --sizelimit ${root.size}`)
  const mnt = mount(t, rootDev, path.join(dir, 'mnt'), '-t ext4')
  const before = treeDigest(mnt)
  mkdirSync(path.join(mnt, 'live'))
  const writer = spawn(
    'bash',
    [
      '-c',
      `i=0; while :; do i=$((i+1)); head -c $((64 + RANDOM % 512))K /dev/urandom > '${mnt}/live/rec-$i.tmp' && mv '${mnt}/live/rec-$i.tmp' '${mnt}/live/rec-$i.wav'; [ $((i % 3)) = 0 ] && rm -f '${mnt}/live/rec-$((i-2)).wav'; [ $((i % 5)) = 0 ] && sync; done`,
    ],
    { stdio: 'ignore' },
  )
  t.teardown(() => {
    writer.kill('SIGKILL')
  })
  await new Promise((r) => setTimeout(r, 300))
  const r = await image(dir, source, { level: 1, chunkSize: 256 * 1024, workers: 2 })
  writer.kill('SIGKILL')
  await new Promise((r) => writer.once('exit', r))
  t.equal(r.manifest.mode, 'used')
  const restored = path.join(dir, 'restored.img')
  sh(`gzip -dc '${r.file}' > '${restored}'`)
  const part = extractPart(restored, root, path.join(dir, 'restored-root.img'))
  const fsck = sh(`e2fsck -fy '${part}' >/dev/null 2>&1; echo $?`).trim()
  t.ok(Number(fsck) <= 1, `e2fsck -fy exit ${fsck}: clean or repaired (0/1), never left with errors (4+)`)
  t.equal(sh(`e2fsck -fn '${part}' >/dev/null 2>&1; echo $?`).trim(), '0', 'clean after the repair')
  const check = mount(t, loopDevice(t, part), path.join(dir, 'check'), '-t ext4 -o ro')
  const after = treeDigest(check)
  for (const [f, digest] of Object.entries(before)) t.equal(after[f], digest, `${f}, there before the image, is intact`)
})
