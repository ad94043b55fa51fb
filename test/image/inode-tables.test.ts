import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { buildCard, dumpFiles, extractPart, treeDigest } from '../helpers/card.js'
import { image, sh } from '../helpers/image.js'
import { loopDevice, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'debugfs', 'dumpe2fs', 'e2fsck', 'gzip', 'mcopy', 'mkfs.ext4', 'mkfs.vfat', 'sfdisk')

// Never-used inode table blocks (bg_itable_unused, INODE_UNINIT) are zeros in the
// image instead of being read, as on Raspberry Pi OS's metadata_csum root. The
// restored filesystem must be clean, hold every file, and take new inodes.
test('unused inode tables are not read, and the restored card takes new inodes', async (t) => {
  if (!needsRoot(t)) return
  const dir = tmp(t)
  // 2048-block groups of 4 KiB: many groups, each with an inode table of its own.
  const card = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
      { fs: 'ext4', mib: 128, mkfs: ['-b', '4096', '-g', '2048', '-N', '40000'] },
    ],
  })
  const root = card.parts[1]!
  const r = await image(dir, card.file, { level: 1, chunkSize: 256 * 1024 })
  const restored = path.join(dir, 'restored.img')
  sh(`gzip -dc '${r.file}' > '${restored}'`)
  const cardTables = extractPart(card.file, root, path.join(dir, 'card-root.img'))
  const inodeBlocks = sh(`dumpe2fs '${cardTables}' 2>/dev/null | grep -c 'unused inodes'`)
  t.ok(Number(inodeBlocks) >= 8, `${inodeBlocks.trim()} groups`)
  const report = r.manifest.layout!.partitions[1]!
  t.ok(report.readBytes < root.size * 0.6, `partition 2: read ${report.readBytes} of ${root.size}`)
  const part = extractPart(restored, root, path.join(dir, 'restored-root.img'))
  t.equal(sh(`e2fsck -fn '${part}' >/dev/null 2>&1; echo $?`).trim(), '0', 'e2fsck -fn is clean after restore')
  t.same(
    treeDigest(dumpFiles(restored, root, path.join(dir, 'files'))),
    treeDigest(root.content),
    'every file equals the original',
  )
  // New inodes in every group on the restored card: 30 000 files, then e2fsck again.
  const dev = loopDevice(t, part)
  const mnt = path.join(dir, 'mnt')
  mkdirSync(mnt)
  sh(`mount -t ext4 '${dev}' '${mnt}'`)
  try {
    sh(
      `cd '${mnt}' && mkdir many && cd many && for d in $(seq 1 30); do mkdir d$d; (cd d$d && seq 1 1000 | xargs touch); done && echo hi > d1/1`,
    )
    writeFileSync(path.join(mnt, 'new.txt'), 'after the restore\n')
  } finally {
    sh(`umount '${mnt}'`)
  }
  t.equal(sh(`e2fsck -fn '${dev}' >/dev/null 2>&1; echo $?`).trim(), '0', 'e2fsck -fn is clean with 30 000 new inodes')
  t.equal(sh(`debugfs -R 'cat /new.txt' '${dev}' 2>/dev/null`), 'after the restore\n')
})
