import t, { type Test } from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import {
  buildCard,
  checkMapped,
  dumpFiles,
  extractPart,
  rangeSha,
  treeDigest,
  type BuiltCard,
  type CardSpec,
} from '../helpers/card.js'
import { pino } from 'pino'
import { image, isRoot, sh, v2Digests } from '../helpers/image.js'
import { loopDevice } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import type { ImageManifest } from '../../lib/dest/image-manifest.js'
import { BackupExistsError, ConfigError } from '../../lib/errors.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(
  t,
  'bmaptool',
  'debugfs',
  'e2fsck',
  'fsck.vfat',
  'gzip',
  'mcopy',
  'mkfs.ext4',
  'mkfs.vfat',
  'sfdisk',
)

const STALE = 'stale line that must not come back'

// The checks the issue asks for on a restored card: same size, bytes outside the
// partitions equal, every filesystem clean (e2fsck -fn / fsck.vfat -n) with the
// same files, unknown partitions equal byte for byte, and the stale data gone.
async function checkRestored(t: Test, card: BuiltCard, restored: string, dir: string, label: string): Promise<void> {
  t.equal(sh(`stat -c %s '${restored}'`).trim(), String(card.size), `${label}: image size equals the card's`)
  let at = 0
  const outside: Array<[number, number]> = []
  for (const p of card.parts) {
    outside.push([at, p.start])
    at = p.start + p.size
  }
  outside.push([at, card.size])
  for (const [a, b] of outside)
    t.equal(
      await rangeSha(restored, a, b),
      await rangeSha(card.file, a, b),
      `${label}: bytes ${a}-${b} outside the partitions are equal`,
    )
  for (const [i, p] of card.parts.entries()) {
    const name = `${label}: partition ${i + 1} (${p.fs} ${(p.mkfs ?? []).join(' ')})`
    if (p.fs === 'raw') {
      t.equal(
        await rangeSha(restored, p.start, p.start + p.size),
        await rangeSha(card.file, p.start, p.start + p.size),
        `${name} equal byte for byte`,
      )
      continue
    }
    const part = extractPart(restored, p, path.join(dir, `check-${i}.img`))
    const before = readFileSync(extractPart(card.file, p, path.join(dir, `source-${i}.img`))).includes(STALE)
    const whole = (p.mkfs ?? []).includes('bigalloc')
    t.equal(
      readFileSync(part).includes(STALE),
      whole && before,
      `${name}: a deleted file's data ${whole ? 'stays (read whole)' : before ? 'was on the card and is not in the image' : 'is not in the image'}`,
    )
    const fsck = p.fs === 'vfat' ? `fsck.vfat -n '${part}'` : `e2fsck -fn '${part}'`
    t.doesNotThrow(() => sh(`${fsck} >/dev/null 2>&1`), `${name}: ${fsck.split(' ').slice(0, 2).join(' ')} is clean`)
    t.same(
      treeDigest(dumpFiles(restored, p, path.join(dir, `files-${i}`))),
      treeDigest(p.content),
      `${name}: every file equals the original`,
    )
  }
}

const cards: Array<[string, CardSpec]> = [
  [
    'MBR with logical partitions: FAT32, ext4 (default features, 4 KiB blocks), ext2, ext3, an unknown partition',
    {
      label: 'dos',
      parts: [
        { fs: 'vfat', mib: 40, mkfs: ['-F', '32', '-s', '1'] },
        { fs: 'ext4', mib: 40, mkfs: ['-b', '4096'] },
        { fs: 'ext2', mib: 16, logical: true },
        { fs: 'ext3', mib: 16, logical: true },
        { fs: 'raw', mib: 2, logical: true },
      ],
      tailMib: 2,
    },
  ],
  [
    'GPT: FAT16, ext4 ^64bit, 1 KiB blocks, ^flex_bg, and bigalloc (read whole)',
    {
      label: 'gpt',
      parts: [
        { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
        { fs: 'ext4', mib: 24, mkfs: ['-O', '^64bit'] },
        { fs: 'ext4', mib: 24, mkfs: ['-b', '1024'] },
        { fs: 'ext4', mib: 24, mkfs: ['-O', '^flex_bg'] },
        { fs: 'ext4', mib: 16, mkfs: ['-O', 'bigalloc', '-C', '16384'] },
      ],
    },
  ],
]

for (const [name, spec] of cards) {
  test(`used-block image of ${name}`, async (t) => {
    const dir = tmp(t)
    const card = buildCard(dir, spec)
    const logs: Array<{ msg: string }> = []
    const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) })
    const r = await image(dir, card.file, { level: 1, chunkSize: 256 * 1024 }, { log })
    const m: ImageManifest = r.manifest
    const lines = logs.map((l) => l.msg).filter((msg) => msg.startsWith('partition '))
    t.equal(lines.length, spec.parts.length, 'one log line per partition')
    t.match(
      lines[0],
      /^partition 1 \(vfat \(FAT(32|16)\), \d+\.\d MiB\): read [\d.]+ MiB in use, [\d.]+ MiB free written as zeros$/,
    )
    if (spec.parts.some((p) => p.fs === 'raw'))
      t.ok(
        lines.some((l) => /: read whole, 2\.0 MiB \(no filesystem understood here\)$/.test(l)),
        'an unknown partition is read whole, saying why',
      )
    t.equal(m.mode, 'used')
    t.equal(m.layout?.scheme, spec.label === 'dos' ? 'mbr' : 'gpt')
    t.equal(m.layout?.partitions.length, spec.parts.length, 'every partition found, logical ones included')
    for (const [i, p] of (m.layout?.partitions ?? []).entries()) {
      const want = spec.parts[i]!
      const whole = want.fs === 'raw' || (want.mkfs ?? []).includes('bigalloc')
      t.equal(
        p.method,
        whole ? 'whole' : 'used',
        `partition ${p.number}: ${p.method}${p.reason ? ` (${p.reason})` : ''}`,
      )
      if (whole) t.equal(p.readBytes, p.size)
      else t.ok(p.readBytes < p.size * 0.8, `partition ${p.number}: read ${p.readBytes} of ${p.size}`)
    }
    if (spec.label === 'gpt') t.match(m.layout?.partitions[4]?.reason, /bigalloc/)
    t.equal(m.layout?.minCardBytes, Math.max(...card.parts.map((p) => p.start + p.size)))
    t.ok(m.layout!.usedBytes < card.size * 0.75, `read ${m.layout!.usedBytes} of ${card.size} bytes`)
    t.equal(m.verification?.result, 'ok')
    const restored = path.join(dir, 'restored.img')
    sh(`gzip -dc '${r.file}' > '${restored}'`)
    t.equal((await v2Digests(restored, m.members)).root, m.raw.root, 'gzip -d gives the image the manifest describes')
    await checkRestored(t, card, restored, dir, 'gunzip')
    // bmaptool writes only the mapped blocks over stale bytes and checks each range:
    // onto a loop device as onto a card when root can attach one, else into a file.
    const target = path.join(dir, 'bmap-target.img')
    sh(`head -c ${card.size} /dev/urandom > '${target}'`)
    const dev = isRoot ? loopDevice(t, target) : target
    t.match(sh(`bmaptool copy '${r.file}' '${dev}' 2>&1`), /discovered bmap file .*\.img\.gz\.bmap/)
    sh('sync')
    await checkMapped(t, card, target, dir, `bmaptool copy to ${isRoot ? 'a loop device' : 'a file'}`)
  })
}

test('--full reads every byte: the card itself, no .bmap', async (t) => {
  const dir = tmp(t)
  const card = buildCard(dir, { label: 'dos', parts: [{ fs: 'ext4', mib: 16 }] })
  const r = await image(dir, card.file, { full: true, level: 1 })
  t.equal(r.manifest.mode, 'full')
  t.equal(r.manifest.layout, undefined)
  t.equal(r.manifest.raw.root, (await v2Digests(card.file, r.manifest.members)).root)
  t.equal(sh(`ls '${path.dirname(r.file)}'`).includes('.bmap'), false)
})

test('used-block mode needs chunks on 4 KiB boundaries (the .bmap blocks); --full does not', async (t) => {
  const dir = tmp(t)
  const card = buildCard(dir, { label: 'dos', parts: [{ fs: 'ext4', mib: 8 }] })
  await t.rejects(
    image(dir, card.file, { chunkSize: 100000 }),
    new ConfigError('chunk-size', '100000 is not a multiple of 4K, which used-block imaging needs (or pass --full)'),
  )
  t.notOk(existsSync(path.join(dir, 'nas')), 'refused before anything was created or run')
  t.equal((await image(dir, card.file, { chunkSize: 100000, full: true })).manifest.mode, 'full')
})

test('an image whose .bmap cannot be written is taken back out; a file already there is left alone', async (t) => {
  const dir = tmp(t)
  const card = buildCard(dir, { label: 'dos', parts: [{ fs: 'ext4', mib: 8 }] })
  const images = path.join(dir, 'nas', 'zolder', 'images')
  sh(`mkdir -p '${images}'`)
  const date = new Date()
  const name = `zolder-${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}.img.gz`
  writeFileSync(path.join(images, `${name}.bmap`), 'not ours\n')
  await t.rejects(image(dir, card.file, { level: 1 }), new BackupExistsError(path.join(images, `${name}.bmap`)))
  t.same(sh(`ls '${images}'`).trim().split('\n'), [`${name}.bmap`], 'no image, no manifest, no partial')
  t.equal(readFileSync(path.join(images, `${name}.bmap`), 'utf8'), 'not ours\n')
})

test('a source that ends early while being read fails the job with the byte where it did', async (t) => {
  const dir = tmp(t)
  const card = buildCard(dir, { label: 'dos', parts: [{ fs: 'ext4', mib: 24, mkfs: ['-b', '4096'] }] })
  let cut = false
  const err = await image(
    dir,
    card.file,
    { level: 1, chunkSize: 64 * 1024 },
    {
      beforeWrite: async () => {
        if (!cut) sh(`truncate -s ${4 * 2 ** 20} '${card.file}'`)
        cut = true
      },
    },
  ).catch((e: unknown) => e)
  t.match(err, { code: 'SDB_SOURCE_READ', reason: 'ended early' })
  t.same(sh(`ls '${path.join(dir, 'nas', 'zolder', 'images')}'`).trim(), '', 'nothing left behind')
})

test('a corrupt card: nothing the card holds is left out, the image exits 0 and says why it read more', async (t) => {
  const dir = tmp(t)
  const card = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'vfat', mib: 40, mkfs: ['-F', '32', '-s', '1'] },
      { fs: 'ext4', mib: 40, mkfs: ['-b', '4096', '-g', '2048'] },
    ],
  })
  const [fat, ext] = card.parts as [(typeof card.parts)[0], (typeof card.parts)[0]]
  const buf = readFileSync(card.file)
  // ext4: BLOCK_UNINIT set on every group that holds data (one bit in each descriptor; checksums now wrong).
  for (let g = 1; g < 5; g++) {
    const flags = ext.start + 4096 + g * 64 + 0x12
    buf.writeUInt16LE(buf.readUInt16LE(flags) | 2, flags)
  }
  // FAT32: the first FAT zeroed past its reserved entries; the second is intact.
  const bps = buf.readUInt16LE(fat.start + 11)
  const fatOffset = fat.start + buf.readUInt16LE(fat.start + 14) * bps
  const fatBytes = buf.readUInt32LE(fat.start + 36) * bps
  buf.fill(0, fatOffset + 12, fatOffset + fatBytes)
  writeFileSync(card.file, buf)
  const logs: Array<{ msg: string }> = []
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) })
  const r = await image(dir, card.file, { level: 1, chunkSize: 256 * 1024 }, { log })
  t.match(r.manifest.layout?.partitions, [
    { method: 'used', notes: [/the FAT copies differ/] },
    { method: 'whole', reason: /descriptor checksum is wrong/ },
  ])
  t.ok(
    logs.some((l) => /^partition 2 .*read whole.*descriptor checksum is wrong/.test(l.msg)),
    'the log says why partition 2 was read whole',
  )
  const restored = path.join(dir, 'restored.img')
  sh(`gzip -dc '${r.file}' > '${restored}'`)
  // e2fsck -fy on the card and on the image keep the same files.
  for (const [what, file] of [
    ['card', card.file],
    ['image', restored],
  ] as const) {
    const part = extractPart(file, ext, path.join(dir, `${what}-ext.img`))
    sh(`e2fsck -fy '${part}' >/dev/null 2>&1 || [ $? -le 2 ]`)
  }
  t.same(
    treeDigest(dumpFiles(path.join(dir, 'image-ext.img'), { ...ext, start: 0 }, path.join(dir, 'image-files'))),
    treeDigest(ext.content),
    'ext4: every file, after e2fsck -fy on the image',
  )
  t.same(
    treeDigest(dumpFiles(path.join(dir, 'card-ext.img'), { ...ext, start: 0 }, path.join(dir, 'card-files'))),
    treeDigest(ext.content),
    'the same as e2fsck -fy keeps on the card',
  )
  // FAT: the image holds every cluster the second FAT uses; put that FAT back as the first and fsck.vfat and mcopy find every file.
  const img = readFileSync(restored)
  img.copy(img, fatOffset, fatOffset + fatBytes, fatOffset + 2 * fatBytes)
  writeFileSync(restored, img)
  const fatPart = extractPart(restored, fat, path.join(dir, 'image-fat.img'))
  t.doesNotThrow(() => sh(`fsck.vfat -n '${fatPart}' >/dev/null 2>&1`), 'fsck.vfat -n is clean with the second FAT')
  t.same(
    treeDigest(dumpFiles(restored, fat, path.join(dir, 'fat-files'))),
    treeDigest(fat.content),
    'FAT32: every file',
  )
})
