import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fatEntry, probeFat } from '../../../lib/image/layout/fat-fs.js'
import { listTree, mixedContent, sh } from '../../helpers/image.js'
import { tmp } from '../../helpers/tmp.js'
import { memReader } from './mem-reader.js'
import { withTools } from '../../helpers/tools.js'

const test = withTools(t, 'fsck.vfat', 'mcopy', 'mkfs.vfat')

const kinds = [
  ['FAT12', '-F 12', 4],
  ['FAT16', '-F 16', 24],
  ['FAT32', '-F 32 -s 1', 40],
] as const

for (const [type, opts, mib] of kinds) {
  test(`${type}: keeping only the mapped bytes keeps a clean filesystem with every file`, async (t) => {
    const dir = tmp(t)
    const img = path.join(dir, 'fat.img')
    const content = path.join(dir, 'content')
    mkdirSync(path.join(content, 'overlays'), { recursive: true })
    writeFileSync(path.join(content, 'config.txt'), 'dtparam=audio=on\n'.repeat(200))
    writeFileSync(path.join(content, 'overlays', 'kernel.img'), mixedContent(Math.floor(mib * 2 ** 20 * 0.3), 4))
    writeFileSync(path.join(content, 'gone.bin'), mixedContent(Math.floor(mib * 2 ** 20 * 0.2), 5))
    sh(`head -c ${mib}M /dev/urandom > '${img}' && mkfs.vfat ${opts} '${img}' >/dev/null`)
    sh(
      `MTOOLS_SKIP_CHECK=1 mcopy -s -i '${img}' '${content}'/* ::/ && MTOOLS_SKIP_CHECK=1 mdel -i '${img}' ::/gone.bin`,
    )
    const original = readFileSync(img)
    const probe = await probeFat(memReader(original))
    if (!probe || probe.whole !== undefined) throw new Error(`not mapped: ${JSON.stringify(probe)}`)
    t.equal(probe.fs, `vfat (${type})`)
    const kept = Buffer.alloc(original.length)
    let mapped = 0
    for await (const e of probe.used()) {
      original.copy(kept, e.start, e.start, e.end)
      mapped += e.end - e.start
    }
    t.ok(mapped < original.length * 0.75, `${mapped} of ${original.length} bytes mapped`)
    t.equal(probe.estimatedUsed, mapped, 'the progress estimate is what is read')
    writeFileSync(img, kept)
    t.doesNotThrow(() => sh(`fsck.vfat -n '${img}'`), 'fsck.vfat -n is clean')
    const out = path.join(dir, 'out')
    mkdirSync(out)
    sh(`MTOOLS_SKIP_CHECK=1 mcopy -s -n -i '${img}' '::/*' '${out}/'`)
    sh(`rm '${content}/gone.bin'`)
    t.same(listTree(out), listTree(content))
    for (const f of listTree(content))
      t.ok(readFileSync(path.join(out, f)).equals(readFileSync(path.join(content, f))), `${f} equal`)
  })
}

test('FAT: what is not a FAT boot sector, or does not fit, is said so', async (t) => {
  t.equal(await probeFat(memReader(Buffer.alloc(256))), undefined, 'too small')
  t.equal(await probeFat(memReader(Buffer.alloc(4096))), undefined, 'no signature')
  const dir = tmp(t)
  const img = path.join(dir, 'fat.img')
  sh(`truncate -s 24M '${img}' && mkfs.vfat -F 16 '${img}' >/dev/null`)
  const b = readFileSync(img)
  t.match(await probeFat(memReader(b, 4 * 2 ** 20)), {
    fs: 'vfat (FAT16)',
    whole: `the filesystem (${24 * 2 ** 20} bytes) is larger than its partition (${4 * 2 ** 20})`,
  })
  const bps = Buffer.from(b)
  bps.writeUInt16LE(1000, 11)
  t.equal(await probeFat(memReader(bps)), undefined, 'bytes per sector 1000 is not FAT')
  const tiny = Buffer.from(b)
  tiny.writeUInt16LE(0, 19)
  tiny.writeUInt32LE(10, 32)
  t.equal(await probeFat(memReader(tiny)), undefined, 'fewer sectors than its own metadata')
  const shortFat = Buffer.from(b)
  shortFat.writeUInt16LE(1, 22) // one sector of FAT for thousands of clusters
  t.match(await probeFat(memReader(shortFat)), { whole: 'the FAT is too large to map or too small for its clusters' })
})

test('fatEntry: 12-bit entries are packed two in three bytes', (t) => {
  const fat = Buffer.from([0xf8, 0xff, 0xff, 0x03, 0x40, 0x00, 0xff, 0x0f, 0x00])
  t.same(
    [0, 1, 2, 3, 4, 5].map((n) => fatEntry(fat, 'FAT12', n)),
    [0xff8, 0xfff, 0x003, 0x004, 0xfff, 0x000],
  )
  t.equal(fatEntry(Buffer.from([0, 0, 0x34, 0x12]), 'FAT16', 1), 0x1234)
  t.equal(
    fatEntry(Buffer.from([0, 0, 0, 0, 0x78, 0x56, 0x34, 0xf2]), 'FAT32', 1),
    0x02345678,
    'the top 4 bits are reserved',
  )
  t.end()
})

// A FAT image made by mkfs.vfat with one file of unique content; returns the image,
// the file's bytes and the offsets in the image where its content lies (found by
// searching, not by parsing the FAT).
function fatWithFile(dir: string, opts: string, mib: number, fileBytes: number) {
  const img = path.join(dir, 'fat.img')
  const file = path.join(dir, 'data.bin')
  const data = mixedContent(fileBytes, 9)
  writeFileSync(file, data)
  sh(`head -c ${mib}M /dev/urandom > '${img}' && mkfs.vfat ${opts} '${img}' >/dev/null 2>&1`)
  sh(`MTOOLS_SKIP_CHECK=1 mcopy -i '${img}' '${file}' ::/data.bin`)
  return { img: readFileSync(img), data }
}

// Whether every byte of `data` is kept when only the probe's extents are copied.
async function keepsData(buf: Buffer, data: Buffer): Promise<boolean> {
  const probe = await probeFat(memReader(buf))
  if (!probe) throw new Error('not FAT')
  if (probe.whole !== undefined) return true
  const kept = Buffer.alloc(buf.length)
  for await (const e of probe.used()) buf.copy(kept, e.start, e.start, e.end)
  for (let at = 0; at < data.length; at += 512) {
    const piece = data.subarray(at, Math.min(at + 512, data.length))
    if (kept.indexOf(piece) < 0) return false
  }
  return true
}

// mtools reads FAT type from the cluster count, so it cannot write into a FAT32 with
// few clusters: the file is written by hand (one contiguous chain in both FATs and
// a root directory entry), and fsck.fat, which reads FAT32 as Linux does, checks it.
function smallFat32(dir: string, fileBytes: number) {
  const file = path.join(dir, 'fat.img')
  sh(`head -c 64M /dev/urandom > '${file}' && mkfs.vfat -F 32 -s 8 '${file}' >/dev/null 2>&1`)
  const img = readFileSync(file)
  const bps = img.readUInt16LE(11)
  const clusterBytes = img[13]! * bps
  const fatOffset = img.readUInt16LE(14) * bps
  const fatBytes = img.readUInt32LE(36) * bps
  const dataOffset = fatOffset + img[16]! * fatBytes
  const data = mixedContent(fileBytes, 9)
  const n = Math.ceil(fileBytes / clusterBytes)
  for (let copy = 0; copy < img[16]!; copy++) {
    for (let i = 0; i < n; i++)
      img.writeUInt32LE(i === n - 1 ? 0x0fffffff : 4 + i, fatOffset + copy * fatBytes + (3 + i) * 4)
  }
  data.copy(img, dataOffset + clusterBytes) // cluster 3
  const entry = img.subarray(dataOffset, dataOffset + 32) // the first slot of the root directory (cluster 2)
  entry.fill(0)
  entry.write('DATA    BIN', 0, 'latin1')
  entry[11] = 0x20
  entry.writeUInt16LE(3, 26)
  entry.writeUInt32LE(fileBytes, 28)
  img.fill(0, dataOffset + 32, dataOffset + clusterBytes) // the rest of the root directory is empty
  writeFileSync(file, img)
  return { img, data, file }
}

test('FAT: a FAT32 with fewer than 65 525 clusters is FAT32, as Linux reads it', async (t) => {
  const { img, data, file } = smallFat32(tmp(t), 3 * 2 ** 20)
  t.match(sh(`fsck.fat -n -l '${file}' 2>&1 || true`), /Checking file \/DATA.BIN/, 'fsck.fat finds the file')
  const probe = await probeFat(memReader(img))
  t.match(probe, { fs: 'vfat (FAT32)' })
  t.ok(await keepsData(img, data), 'every byte of the file is read')
})

test('FAT: a damaged first FAT loses nothing the second still holds', async (t) => {
  for (const [type, opts, mib] of kinds) {
    const { img, data } = fatWithFile(tmp(t), opts, mib, Math.floor(mib * 2 ** 20 * 0.3))
    const fatOffset = img.readUInt16LE(14) * img.readUInt16LE(11)
    const fatBytes = (img.readUInt16LE(22) || img.readUInt32LE(36)) * img.readUInt16LE(11)
    img.fill(0, fatOffset + 8, fatOffset + fatBytes) // the first FAT zeroed past its reserved entries
    const notes: string[] = []
    const probe = await probeFat(memReader(img))
    if (!probe || probe.whole !== undefined) throw new Error('not mapped')
    for await (const _ of probe.used((n) => notes.push(n)));
    t.ok(await keepsData(img, data), `${type}: every byte of the file is read`)
    t.match(notes, [/the FAT copies differ in \d+ clusters/], `${type}: the log says the copies differ`)
  }
})

test('FAT: boot sectors whose sizes and counts disagree are read whole', async (t) => {
  const { img } = fatWithFile(tmp(t), '-F 32 -s 1', 40, 2 ** 20)
  const edit = (f: (b: Buffer) => void) => {
    const b = Buffer.from(img)
    f(b)
    return b
  }
  t.match(
    await probeFat(memReader(edit((b) => (b[0x4a]! ^= 0xff)))),
    { fs: 'vfat (FAT32)' },
    'the volume label may differ from the backup',
  )
  t.match(await probeFat(memReader(edit((b) => b.writeUInt32LE(b.readUInt32LE(32) - 8, 32)))), {
    whole: 'the backup boot sector (sector 6) disagrees with the boot sector',
  })
  t.match(await probeFat(memReader(edit((b) => b.writeUInt32LE(1, 44)))), {
    whole: 'the FAT32 root directory fields are not valid',
  })
  t.match(await probeFat(memReader(edit((b) => (b[21] = 0x12)))), { whole: 'media byte 0x12 is not valid' })
  t.match(await probeFat(memReader(edit((b) => (b[16] = 9)))), { whole: '9 FAT copies' })
  const { img: f16 } = fatWithFile(tmp(t), '-F 16', 24, 2 ** 20)
  const noRoot = Buffer.from(f16)
  noRoot.writeUInt16LE(0, 17)
  t.match(await probeFat(memReader(noRoot)), {
    whole: '0 root directory entries do not fill whole sectors (Linux refuses them)',
  })
  noRoot.writeUInt16LE(1, 17)
  t.match(await probeFat(memReader(noRoot)), {
    whole: '1 root directory entries do not fill whole sectors (Linux refuses them)',
  })
  const fewer = Buffer.from(f16)
  fewer.writeUInt16LE(f16.readUInt16LE(19) / 4, 19) // a quarter of the sectors: the FAT16 would be read as FAT12
  t.match(await probeFat(memReader(fewer)), { whole: /the FAT \(\d+ bytes\) is far larger than its \d+ clusters need/ })
  const reserved = Buffer.from(f16)
  reserved.writeUInt16LE(f16.readUInt16LE(14) + 1, 14) // every cluster would shift by a sector
  t.match(await probeFat(memReader(reserved)), { whole: /FAT copy 1 does not begin with the media byte/ })
  const oneFat = Buffer.from(f16)
  oneFat[16] = 1 // the second copy would be taken for the root directory
  t.match(await probeFat(memReader(oneFat)), { whole: 'another FAT copy follows the 1 the boot sector counts' })
  // A 16-bit FAT size with more clusters than FAT16 can address (Linux refuses to mount it).
  const big = Buffer.alloc(512)
  f16.copy(big, 0, 0, 512)
  big.writeUInt16LE(0, 19)
  big.writeUInt32LE(8 * 2 ** 20, 32)
  big.writeUInt16LE(256, 22)
  big[13] = 1
  t.match(await probeFat(memReader(big, 4 * 2 ** 30)), { whole: /clusters are more than FAT16 can address/ })
})
