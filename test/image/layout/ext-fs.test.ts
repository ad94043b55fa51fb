import t from 'tap'
import { mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs'
import path from 'node:path'
import { bitmapRuns, probeExt } from '../../../lib/image/layout/ext-fs.js'
import { SourceReadError } from '../../../lib/errors.js'
import { mixedContent, sh } from '../../helpers/image.js'
import { tmp } from '../../helpers/tmp.js'
import { memReader } from './mem-reader.js'

// A small filesystem made by mkfs with `opts`, filled, with a file deleted again.
function makeFs(dir: string, opts: string, mib = 64): Buffer {
  const content = path.join(dir, 'content')
  mkdirSync(path.join(content, 'sub'), { recursive: true })
  writeFileSync(path.join(content, 'a.bin'), mixedContent(6 * 2 ** 20, 1))
  writeFileSync(path.join(content, 'sub', 'b.txt'), 'x'.repeat(100000))
  writeFileSync(path.join(content, 'gone.bin'), mixedContent(2 * 2 ** 20, 2))
  const img = path.join(dir, 'fs.img')
  // 4 KiB blocks, as on a card, in groups of 2048 blocks so a small filesystem has many (BLOCK_UNINIT ones too).
  const geometry = opts.includes('-b ') ? '' : '-b 4096 -g 2048'
  sh(`head -c ${mib}M /dev/urandom > '${img}' && mkfs.ext4 -q -F ${geometry} ${opts} -E nodiscard -d '${content}' '${img}' ${mib}M 2>/dev/null && debugfs -w -R 'rm /gone.bin' '${img}' 2>/dev/null`)
  return readFileSync(img)
}

// dumpe2fs (libext2fs, which knows BLOCK_UNINIT as the kernel does) lists the free
// blocks of every group: the independent answer the used-block map must complement.
function freeBlocks(img: string): Set<number> {
  const free = new Set<number>()
  for (const m of sh(`dumpe2fs '${img}' 2>/dev/null`).matchAll(/^\s+Free blocks: (.*)$/gm)) {
    for (const r of m[1]!.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [a, b] = r.split('-').map(Number) as [number, number?]
      for (let x = a; x <= (b ?? a); x++) free.add(x)
    }
  }
  return free
}

function blocksOf(head: string): number {
  return Number(/Block count:\s+(\d+)/.exec(head)![1])
}

const variants = [
  ['default (64bit, metadata_csum, flex_bg)', ''],
  ['^64bit', '-O ^64bit'],
  ['1 KiB blocks (what mke2fs picks for a small filesystem)', '-b 1024'],
  ['2 KiB blocks', '-b 2048'],
  ['64 KiB blocks', '-b 65536'],
  ['^flex_bg', '-O ^flex_bg'],
  ['no checksums, no uninit_bg (bitmaps always read)', '-O ^metadata_csum,^uninit_bg'],
  ['uninit_bg without metadata_csum', '-O ^metadata_csum,uninit_bg'],
  ['sparse_super2', '-O sparse_super2'],
  ['^sparse_super (a backup in every group)', '-O ^sparse_super,^resize_inode'],
  ['ext2', '-t ext2'],
  ['ext3', '-t ext3'],
] as const

for (const [name, opts] of variants) {
  t.test(`ext: the used-block map is exactly what dumpe2fs does not list as free: ${name}`, async (t) => {
    const dir = tmp(t)
    const buf = makeFs(dir, opts)
    const probe = await probeExt(memReader(buf))
    if (!probe || probe.whole !== undefined) throw new Error(`not mapped: ${JSON.stringify(probe)}`)
    const head = sh(`dumpe2fs -h '${path.join(dir, 'fs.img')}' 2>/dev/null`)
    const bs = Number(/Block size:\s+(\d+)/.exec(head)![1])
    const groups = Math.ceil(blocksOf(head) / Number(/Blocks per group:\s+(\d+)/.exec(head)![1]))
    const blocks = probe.bytes / bs
    const free = freeBlocks(path.join(dir, 'fs.img'))
    const used = new Set<number>()
    for await (const e of probe.used()) for (let b = Math.floor(e.start / bs); b < Math.ceil(e.end / bs); b++) used.add(b)
    const both = [...used].filter((b) => free.has(b))
    const neither: number[] = []
    for (let b = 0; b < blocks; b++) if (!used.has(b) && !free.has(b)) neither.push(b)
    t.same(both.slice(0, 10), [], 'no block is both used and free')
    t.same(neither.slice(0, 10), [], 'every block is used or free')
    t.ok(free.size > blocks * 0.3, `a real share is skipped (${free.size} of ${blocks} blocks of ${bs} bytes, ${groups} groups)`)
    t.ok(Math.abs(probe.estimatedUsed / bs - (blocks - free.size)) <= blocks * 0.01, 'the estimate is the superblock free count')
  })
}

t.test('ext: features that change the layout are read whole, saying which', async (t) => {
  const dir = tmp(t)
  t.match(await probeExt(memReader(makeFs(dir, '-O bigalloc -C 16384'))), { fs: 'ext4', whole: 'feature not understood: bigalloc' })
  t.match(await probeExt(memReader(makeFs(tmp(t), '-O meta_bg,^resize_inode'))), { fs: 'ext4', whole: 'feature not understood: meta_bg' })
  const fs = makeFs(tmp(t), '', 32)
  t.match(await probeExt(memReader(fs, 16 * 2 ** 20)), { whole: `the filesystem (${32 * 2 ** 20} bytes) is larger than its partition (${16 * 2 ** 20})` })
  const weird = Buffer.from(fs)
  weird.writeUInt32LE(7, 1024 + 0x18)
  t.match(await probeExt(memReader(weird)), { whole: 'block size 2^17 is not understood' })
  const geometry = Buffer.from(fs)
  geometry.writeUInt32LE(0, 1024 + 0x20)
  t.match(await probeExt(memReader(geometry)), { whole: 'the superblock geometry is not understood' })
  const unknown = Buffer.from(fs)
  unknown.writeUInt32LE(unknown.readUInt32LE(1024 + 0x64) | 0x40000000, 1024 + 0x64)
  t.match(await probeExt(memReader(unknown)), { whole: 'feature not understood: 0x40000000' })
  // Group 1's block bitmap moved past the end: the descriptor is not trusted.
  const bad = Buffer.from(fs)
  bad.writeUInt32LE(0xffffff, 4096 + 64)
  t.match(await probeExt(memReader(bad)), { whole: "group 1's descriptor points past the end of the filesystem" })
  t.equal(await probeExt(memReader(Buffer.alloc(4096))), undefined, 'no magic: not ext')
  t.equal(await probeExt(memReader(Buffer.alloc(1024))), undefined, 'too small to hold a superblock')
})

t.test('ext: a descriptor that changes under a live filesystem stops the read instead of guessing', async (t) => {
  const dir = tmp(t)
  const fs = makeFs(dir, '', 32)
  const probe = await probeExt(memReader(fs))
  if (!probe || probe.whole !== undefined) throw new Error('not mapped')
  fs.writeUInt32LE(0xffffff, 4096 + 64) // after the probe, before the walk reaches group 1
  await t.rejects(async () => {
    for await (const _ of probe.used());
  }, new SourceReadError('mem', 4096 + 64, "group 1's descriptor changed to point past the end of the filesystem while it was read"))
})

t.test('bitmapRuns: bit i, least significant first, is block start + i', (t) => {
  const runs = (bytes: number[], n: number) => bitmapRuns(Buffer.from(bytes), 100, n)
  t.same(runs([0x00, 0x00], 16), [])
  t.same(runs([0xff, 0xff], 16), [[100, 116]])
  t.same(runs([0x01, 0x80], 16), [[100, 101], [115, 116]])
  t.same(runs([0xf0, 0x0f], 16), [[104, 112]])
  t.same(runs([0xff, 0xff], 12), [[100, 112]], 'bits past the group (padding) are ignored')
  t.same(runs([0x0e], 3), [[101, 103]])
  t.end()
})
