import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import {
  bitmapRuns,
  descriptorChecksum,
  parseExtSuperblock,
  probeExt,
  superblockChecksum,
} from '../../../lib/image/layout/ext-fs.js'
import { SourceReadError } from '../../../lib/errors.js'
import { mixedContent, sh } from '../../helpers/image.js'
import { tmp } from '../../helpers/tmp.js'
import { memReader } from './mem-reader.js'
import { withTools } from '../../helpers/tools.js'

const test = withTools(t, 'debugfs', 'dumpe2fs', 'mke2fs', 'mkfs.ext4')

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
  sh(
    `head -c ${mib}M /dev/urandom > '${img}' && mkfs.ext4 -q -F ${geometry} ${opts} -E nodiscard -d '${content}' '${img}' ${mib}M 2>/dev/null && debugfs -w -R 'rm /gone.bin' '${img}' 2>/dev/null`,
  )
  return readFileSync(img)
}

// dumpe2fs (libext2fs, which knows BLOCK_UNINIT as the kernel does) lists the free
// blocks of every group: the independent answer the used-block map must complement.
function freeBlocks(img: string): Set<number> {
  const free = new Set<number>()
  for (const m of sh(`dumpe2fs '${img}' 2>/dev/null`).matchAll(/^\s+Free blocks: (.*)$/gm)) {
    for (const r of m[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [a, b] = r.split('-').map(Number) as [number, number?]
      for (let x = a; x <= (b ?? a); x++) free.add(x)
    }
  }
  return free
}

// A copy of the filesystem with `edit` applied to its superblock and the superblock
// checksum made right again: what a tool that rewrites the superblock leaves.
function resealed(fs: Buffer, edit: (sb: Buffer) => void): Buffer {
  const b = Buffer.from(fs)
  const sb = b.subarray(1024, 2048)
  edit(sb)
  sb.writeUInt32LE(superblockChecksum(sb), 0x3fc)
  return b
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
  test(`ext: the used-block map is exactly what dumpe2fs does not list as free: ${name}`, async (t) => {
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
    let zeroBlocks = 0
    for await (const e of probe.used()) {
      for (let b = Math.floor(e.start / bs); b < Math.ceil(e.end / bs); b++) used.add(b)
      if (e.zero) zeroBlocks += (e.end - e.start) / bs
    }
    const both = [...used].filter((b) => free.has(b))
    const neither: number[] = []
    for (let b = 0; b < blocks; b++) if (!used.has(b) && !free.has(b)) neither.push(b)
    t.same(both.slice(0, 10), [], 'no block is both used and free')
    t.same(neither.slice(0, 10), [], 'every block is used or free')
    t.ok(
      free.size > blocks * 0.3,
      `a real share is skipped (${free.size} of ${blocks} blocks of ${bs} bytes, ${groups} groups)`,
    )
    t.ok(
      Math.abs(probe.estimatedUsed / bs - (blocks - free.size - zeroBlocks)) <= blocks * 0.01,
      'the estimate is the superblock free count, less never-used inode table blocks',
    )
  })
}

test('ext: features that change the layout are read whole, saying which', async (t) => {
  const dir = tmp(t)
  t.match(await probeExt(memReader(makeFs(dir, '-O bigalloc -C 16384'))), {
    fs: 'ext4',
    whole: 'feature not understood: bigalloc',
  })
  t.match(await probeExt(memReader(makeFs(tmp(t), '-O meta_bg,^resize_inode'))), {
    fs: 'ext4',
    whole: 'feature not understood: meta_bg',
  })
  const fs = makeFs(tmp(t), '', 32)
  t.match(await probeExt(memReader(fs, 16 * 2 ** 20)), {
    whole: `the filesystem (${32 * 2 ** 20} bytes) is larger than its partition (${16 * 2 ** 20})`,
  })
  const weird = resealed(fs, (sb) => sb.writeUInt32LE(7, 0x18))
  t.match(await probeExt(memReader(weird)), { whole: 'block size 2^17 is not understood' })
  const geometry = resealed(fs, (sb) => sb.writeUInt32LE(0, 0x20))
  t.match(await probeExt(memReader(geometry)), { whole: 'the superblock geometry is not understood' })
  const unknown = resealed(fs, (sb) => sb.writeUInt32LE(sb.readUInt32LE(0x64) | 0x40000000, 0x64))
  t.match(await probeExt(memReader(unknown)), { whole: 'feature not understood: 0x40000000' })
  // Group 1's block bitmap moved past the end: the descriptor is not trusted.
  const bad = Buffer.from(fs)
  bad.writeUInt32LE(0xffffff, 4096 + 64)
  t.match(await probeExt(memReader(bad)), { whole: "group 1's descriptor points past the end of the filesystem" })
  t.equal(await probeExt(memReader(Buffer.alloc(4096))), undefined, 'no magic: not ext')
  t.equal(await probeExt(memReader(Buffer.alloc(1024))), undefined, 'too small to hold a superblock')
})

test('ext: a descriptor that changes under a live filesystem stops the read instead of guessing', async (t) => {
  const dir = tmp(t)
  const fs = makeFs(dir, '', 32)
  const probe = await probeExt(memReader(fs))
  if (!probe || probe.whole !== undefined) throw new Error('not mapped')
  fs.writeUInt32LE(0xffffff, 4096 + 64) // after the probe, before the walk reaches group 1
  await t.rejects(
    async () => {
      for await (const _ of probe.used());
    },
    new SourceReadError(
      'mem',
      4096 + 64,
      "group 1's descriptor changed while it was read and now points past the end of the filesystem",
    ),
  )
})

test('bitmapRuns: bit i, least significant first, is block start + i', (t) => {
  const runs = (bytes: number[], n: number) => bitmapRuns(Buffer.from(bytes), 100, n)
  t.same(runs([0x00, 0x00], 16), [])
  t.same(runs([0xff, 0xff], 16), [[100, 116]])
  t.same(runs([0x01, 0x80], 16), [
    [100, 101],
    [115, 116],
  ])
  t.same(runs([0xf0, 0x0f], 16), [[104, 112]])
  t.same(runs([0xff, 0xff], 12), [[100, 112]], 'bits past the group (padding) are ignored')
  t.same(runs([0x0e], 3), [[101, 103]])
  t.end()
})

// The map of a probe that did not refuse, as a set of block numbers, and the doubts it noted.
async function mapOf(fs: Buffer, bs: number): Promise<{ used: Set<number>; notes: string[] } | { whole: string }> {
  const probe = await probeExt(memReader(fs))
  if (!probe) throw new Error('not ext')
  if (probe.whole !== undefined) return { whole: probe.whole }
  const used = new Set<number>()
  const notes: string[] = []
  for await (const e of probe.used((n) => notes.push(n))) for (let b = e.start / bs; b < e.end / bs; b++) used.add(b)
  return { used, notes }
}

// Block numbers of a file's data, as debugfs (libext2fs) lists them.
function blocksOfFile(img: string, file: string): number[] {
  const out = sh(`debugfs -R 'blocks ${file}' '${img}' 2>/dev/null`)
  return out.split(/\s+/).filter(Boolean).map(Number)
}

// The descriptor of `group` in a filesystem whose descriptor table starts at `gdt`.
function descAt(fs: Buffer, gdt: number, group: number, size: number): Buffer {
  return fs.subarray(gdt + group * size, gdt + (group + 1) * size)
}

test('ext: a corrupt superblock is read whole, never a crash', async (t) => {
  const fs = makeFs(tmp(t), '', 32)
  const cases: Array<[string, Buffer, string | RegExp]> = [
    [
      'one bit of the superblock flipped (metadata_csum)',
      (() => {
        const b = Buffer.from(fs)
        b[1024 + 0x14]! ^= 1
        return b
      })(),
      'the superblock checksum is wrong',
    ],
    [
      'first data block 0 → 1 with 4 KiB blocks',
      resealed(fs, (sb) => sb.writeUInt32LE(1, 0x14)),
      'first data block 1 does not fit 4096-byte blocks',
    ],
    [
      'desc_size 32 on a 64bit filesystem',
      resealed(fs, (sb) => sb.writeUInt16LE(32, 0xfe)),
      'descriptor size 32 is not valid for a 64bit filesystem',
    ],
    [
      'desc_size 96 (not a power of two)',
      resealed(fs, (sb) => sb.writeUInt16LE(96, 0xfe)),
      'descriptor size 96 is not valid for a 64bit filesystem',
    ],
    [
      'first data block ≥ block count',
      resealed(fs, (sb) => {
        sb.writeUInt32LE(0, 0x4)
        sb.writeUInt32LE(0, 0x150)
      }),
      /leaves no data blocks|does not fit/,
    ],
    [
      'inode count disagrees with the groups',
      resealed(fs, (sb) => sb.writeUInt32LE(sb.readUInt32LE(0) + 1, 0)),
      /inodes do not match/,
    ],
    [
      'blocks per group not a multiple of 8',
      resealed(fs, (sb) => sb.writeUInt32LE(2047, 0x20)),
      'the superblock geometry is not understood',
    ],
    ['inode size 100', resealed(fs, (sb) => sb.writeUInt16LE(100, 0x58)), 'the superblock geometry is not understood'],
    [
      'reserved GDT blocks beyond the group',
      resealed(fs, (sb) => sb.writeUInt16LE(2000, 0xce)),
      /do not fit in group 0/,
    ],
    [
      'the state records errors',
      resealed(fs, (sb) => sb.writeUInt16LE(sb.readUInt16LE(0x3a) | 2, 0x3a)),
      /records filesystem errors/,
    ],
    ['an error count', resealed(fs, (sb) => sb.writeUInt32LE(3, 0x194)), /records filesystem errors .*3 errors/],
  ]
  for (const [what, b, why] of cases) t.match(await probeExt(memReader(b)), { fs: 'ext4', whole: why }, what)
})

test('ext: one flipped BLOCK_UNINIT bit in a checksummed descriptor makes the partition read whole', async (t) => {
  const fs = makeFs(tmp(t), '', 32)
  const d = descAt(fs, 4096, 2, 64)
  t.equal(d.readUInt16LE(0x12) & 2, 0, 'group 2 holds data (its bitmap is written)')
  d.writeUInt16LE(d.readUInt16LE(0x12) | 2, 0x12)
  t.match(await probeExt(memReader(fs)), { whole: "group 2's descriptor checksum is wrong" })
  const crc16fs = makeFs(tmp(t), '-O ^metadata_csum,uninit_bg', 32)
  const d16 = descAt(crc16fs, 4096, 2, 64)
  d16.writeUInt16LE(d16.readUInt16LE(0x12) | 2, 0x12)
  t.match(await probeExt(memReader(crc16fs)), { whole: "group 2's descriptor checksum is wrong" }, 'uninit_bg: crc16')
})

test('ext: BLOCK_UNINIT without group checksums is ignored, as the kernel does', async (t) => {
  const dir = tmp(t)
  const fs = makeFs(dir, '-O ^metadata_csum,^uninit_bg', 32)
  const img = path.join(dir, 'fs.img')
  const file = blocksOfFile(img, '/a.bin')
  const group = Math.floor(file[file.length - 1]! / 2048)
  const d = descAt(fs, 4096, group, 64)
  d.writeUInt16LE(d.readUInt16LE(0x12) | 2, 0x12)
  const map = await mapOf(fs, 4096)
  if ('whole' in map) throw new Error(map.whole)
  t.same(
    file.filter((b) => !map.used.has(b)),
    [],
    `every block of /a.bin is read (group ${group} flagged BLOCK_UNINIT)`,
  )
})

test('ext: a bitmap in doubt makes its group read whole, with a note', async (t) => {
  for (const [name, opts] of [
    ['metadata_csum', ''],
    ['no checksums', '-O ^metadata_csum,^uninit_bg'],
  ] as const) {
    const dir = tmp(t)
    const fs = makeFs(dir, opts, 32)
    const img = path.join(dir, 'fs.img')
    const file = blocksOfFile(img, '/a.bin')
    const victim = file[100]!
    const group = Math.floor(victim / 2048)
    const bitmapBlock = descAt(fs, 4096, group, 64).readUInt32LE(0)
    const at = bitmapBlock * 4096 + ((victim - group * 2048) >> 3)
    fs[at]! &= ~(1 << ((victim - group * 2048) & 7)) // the block of /a.bin now looks free
    const map = await mapOf(fs, 4096)
    if ('whole' in map) throw new Error(map.whole)
    t.ok(map.used.has(victim), `${name}: the block marked free is still read`)
    t.same(
      file.filter((b) => !map.used.has(b)),
      [],
      `${name}: every block of /a.bin is read`,
    )
    t.match(
      map.notes,
      [new RegExp(`group ${group} read whole: (block bitmap checksum is wrong|block bitmap shows)`)],
      `${name}: the note names the group`,
    )
  }
})

test('ext: without flex_bg, a descriptor that puts its bitmap in another group is not trusted', async (t) => {
  const fs = makeFs(tmp(t), '-O ^flex_bg,^metadata_csum,^uninit_bg', 32)
  const d = descAt(fs, 4096, 3, 64)
  d.writeUInt32LE(d.readUInt32LE(0) - 2048, 0) // group 3's block bitmap now in group 2
  t.match(await probeExt(memReader(fs)), {
    whole: "group 3's descriptor puts its metadata outside its group (no flex_bg)",
  })
})

test('ext: an uninitialised group without flex_bg whose metadata moved is read whole', async (t) => {
  const fs = makeFs(tmp(t), '-O ^flex_bg,^metadata_csum,uninit_bg', 32)
  const probeOf = await probeExt(memReader(fs))
  if (!probeOf || probeOf.whole !== undefined) throw new Error('not mapped')
  const groups = (32 * 2 ** 20) / 4096 / 2048
  const uninit = Array.from({ length: groups }, (_, i) => i).filter(
    (i) => descAt(fs, 4096, i, 64).readUInt16LE(0x12) & 2,
  )
  t.ok(uninit.length > 0, 'the filesystem has uninitialised groups')
  const g = uninit.at(-1)!
  const d = descAt(fs, 4096, g, 64)
  d.writeUInt32LE(d.readUInt32LE(8) + 8, 8) // its inode table moved 8 blocks on, inside the group
  const sb = parseExtSuperblock(fs.subarray(1024, 2048), fs.length)!.geometry!
  d.writeUInt16LE(descriptorChecksum(sb, g, d), 0x1e) // and the crc16 made right again
  const map = await mapOf(fs, 4096)
  if ('whole' in map) throw new Error(map.whole)
  t.match(map.notes, [
    new RegExp(
      `group ${g} read whole: uninitialised group whose bitmaps and inode table are not where mke2fs puts them`,
    ),
  ])
  for (let b = g * 2048; b < (g + 1) * 2048; b++) if (!map.used.has(b)) return t.fail(`block ${b} not read`)
})

// Per group, from dumpe2fs: where its inode table lies and how many inodes were never used.
function tablesOf(img: string): Array<{ first: number; last: number; unused: number; zeroed: boolean }> {
  const out: Array<{ first: number; last: number; unused: number; zeroed: boolean }> = []
  for (const m of sh(`dumpe2fs '${img}' 2>/dev/null`).matchAll(
    /^Group \d+:.*?(\[.*?\])?\n[\s\S]*?Inode table at (\d+)-(\d+)[\s\S]*?(\d+) unused inodes/gm,
  )) {
    out.push({
      first: Number(m[2]),
      last: Number(m[3]),
      unused: Number(m[4]),
      zeroed: (m[1] ?? '').includes('INODE_UNINIT'),
    })
  }
  return out
}

test('ext: the never-used end of each inode table is zeros, not read, as dumpe2fs counts it', async (t) => {
  for (const [name, opts] of [
    ['metadata_csum', ''],
    ['uninit_bg', '-O ^metadata_csum,uninit_bg'],
    ['no checksums: tables read', '-O ^metadata_csum,^uninit_bg'],
  ] as const) {
    const dir = tmp(t)
    const buf = makeFs(dir, opts)
    const head = sh(`dumpe2fs -h '${path.join(dir, 'fs.img')}' 2>/dev/null`)
    const isz = Number(/Inode size:\s+(\d+)/.exec(head)![1])
    const ipg = Number(/Inodes per group:\s+(\d+)/.exec(head)![1])
    const want = new Set<number>()
    if (!opts.includes('^uninit_bg')) {
      for (const tb of tablesOf(path.join(dir, 'fs.img'))) {
        const usedBlocks = Math.ceil(((tb.zeroed ? 0 : ipg - tb.unused) * isz) / 4096)
        for (let b = tb.first + usedBlocks; b <= tb.last; b++) want.add(b)
      }
    }
    const probe = await probeExt(memReader(buf))
    if (!probe || probe.whole !== undefined) throw new Error('not mapped')
    const zero = new Set<number>()
    for await (const e of probe.used()) if (e.zero) for (let b = e.start / 4096; b < e.end / 4096; b++) zero.add(b)
    t.same(
      [...zero].sort((a, b) => a - b),
      [...want].sort((a, b) => a - b),
      `${name}: ${zero.size} table blocks are zeros`,
    )
    if (!opts.includes('^uninit_bg')) t.ok(zero.size > 100, `${name}: a real share of the tables`)
  }
})
