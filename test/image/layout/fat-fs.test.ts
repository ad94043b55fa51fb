import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fatEntry, probeFat } from '../../../lib/image/layout/fat-fs.js'
import { listTree, mixedContent, sh } from '../../helpers/image.js'
import { tmp } from '../../helpers/tmp.js'
import { memReader } from './mem-reader.js'

const kinds = [
  ['FAT12', '-F 12', 4],
  ['FAT16', '-F 16', 24],
  ['FAT32', '-F 32 -s 1', 40],
] as const

for (const [type, opts, mib] of kinds) {
  t.test(`${type}: keeping only the mapped bytes keeps a clean filesystem with every file`, async (t) => {
    const dir = tmp(t)
    const img = path.join(dir, 'fat.img')
    const content = path.join(dir, 'content')
    mkdirSync(path.join(content, 'overlays'), { recursive: true })
    writeFileSync(path.join(content, 'config.txt'), 'dtparam=audio=on\n'.repeat(200))
    writeFileSync(path.join(content, 'overlays', 'kernel.img'), mixedContent(Math.floor(mib * 2 ** 20 * 0.3), 4))
    writeFileSync(path.join(content, 'gone.bin'), mixedContent(Math.floor(mib * 2 ** 20 * 0.2), 5))
    sh(`head -c ${mib}M /dev/urandom > '${img}' && mkfs.vfat ${opts} '${img}' >/dev/null`)
    sh(`MTOOLS_SKIP_CHECK=1 mcopy -s -i '${img}' '${content}'/* ::/ && MTOOLS_SKIP_CHECK=1 mdel -i '${img}' ::/gone.bin`)
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
    for (const f of listTree(content)) t.ok(readFileSync(path.join(out, f)).equals(readFileSync(path.join(content, f))), `${f} equal`)
  })
}

t.test('FAT: what is not a FAT boot sector, or does not fit, is said so', async (t) => {
  t.equal(await probeFat(memReader(Buffer.alloc(256))), undefined, 'too small')
  t.equal(await probeFat(memReader(Buffer.alloc(4096))), undefined, 'no signature')
  const dir = tmp(t)
  const img = path.join(dir, 'fat.img')
  sh(`truncate -s 24M '${img}' && mkfs.vfat -F 16 '${img}' >/dev/null`)
  const b = readFileSync(img)
  t.match(await probeFat(memReader(b, 4 * 2 ** 20)), { fs: 'vfat (FAT16)', whole: `the filesystem (${24 * 2 ** 20} bytes) is larger than its partition (${4 * 2 ** 20})` })
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

t.test('fatEntry: 12-bit entries are packed two in three bytes', (t) => {
  const fat = Buffer.from([0xf8, 0xff, 0xff, 0x03, 0x40, 0x00, 0xff, 0x0f, 0x00])
  t.same([0, 1, 2, 3, 4, 5].map((n) => fatEntry(fat, 'FAT12', n)), [0xff8, 0xfff, 0x003, 0x004, 0xfff, 0x000])
  t.equal(fatEntry(Buffer.from([0, 0, 0x34, 0x12]), 'FAT16', 1), 0x1234)
  t.equal(fatEntry(Buffer.from([0, 0, 0, 0, 0x78, 0x56, 0x34, 0xf2]), 'FAT32', 1), 0x02345678, 'the top 4 bits are reserved')
  t.end()
})
