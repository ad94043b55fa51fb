import { SourceReadError } from '../../errors.js'
import type { ByteReader } from './byte-reader.js'
import type { FsProbe } from './fs-probe.js'

// Feature bits this reader understands (see the ext4 disk layout). A filesystem with
// any other incompat or ro_compat bit is read whole: guessing could drop data.
const INCOMPAT_KNOWN = 0x2 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000
const RO_COMPAT_KNOWN = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x400 | 0x1000 | 0x2000 | 0x8000 | 0x10000
const INCOMPAT_NAMES: Record<number, string> = { 0x1: 'compression', 0x8: 'journal_dev', 0x10: 'meta_bg' }
const RO_COMPAT_NAMES: Record<number, string> = { 0x80: 'snapshot', 0x200: 'bigalloc', 0x800: 'replica', 0x4000: 'shared_blocks' }
const INCOMPAT_64BIT = 0x80
const INCOMPAT_EXTENTS = 0x40
const COMPAT_JOURNAL = 0x4
const COMPAT_SPARSE_SUPER2 = 0x200
const RO_SPARSE_SUPER = 0x1
const RO_GDT_CSUM = 0x10
const RO_METADATA_CSUM = 0x400
const BG_BLOCK_UNINIT = 0x2

// The superblock fields the block map needs.
export interface ExtGeometry {
  readonly blockSize: number
  readonly blocksCount: number
  readonly freeBlocks: number
  readonly firstDataBlock: number
  readonly blocksPerGroup: number
  readonly groups: number
  /** 64-bit descriptors carry the high halves of block numbers. */
  readonly is64: boolean
  readonly descSize: number
  readonly gdtBlocks: number
  readonly reservedGdtBlocks: number
  readonly inodeTableBlocks: number
  /** BLOCK_UNINIT is only meaningful with group descriptor checksums. */
  readonly uninitFlags: boolean
  readonly hasSuper: (group: number) => boolean
}

function bits(mask: number, names: Record<number, string>): string {
  const out: string[] = []
  for (let b = 1; b <= mask && b > 0; b *= 2) if (mask & b) out.push(names[b] ?? `0x${b.toString(16)}`)
  return out.join(', ')
}

function isPowerOf(n: number, base: number): boolean {
  while (n > 1 && n % base === 0) n /= base
  return n === 1
}

// Parses the superblock at byte 1024; undefined when there is no ext magic.
export function parseExtSuperblock(sb: Buffer, partitionSize: number): { fs: string; geometry?: ExtGeometry; whole?: string } | undefined {
  if (sb.readUInt16LE(0x38) !== 0xef53) return undefined
  const compat = sb.readUInt32LE(0x5c)
  const incompat = sb.readUInt32LE(0x60)
  const ro = sb.readUInt32LE(0x64)
  const fs = incompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT) ? 'ext4' : compat & COMPAT_JOURNAL ? 'ext3' : 'ext2'
  const unknown = [bits(incompat & ~INCOMPAT_KNOWN, INCOMPAT_NAMES), bits(ro & ~RO_COMPAT_KNOWN, RO_COMPAT_NAMES)].filter(Boolean).join(', ')
  if (unknown) return { fs, whole: `feature not understood: ${unknown}` }
  const logBlock = sb.readUInt32LE(0x18)
  if (logBlock > 6) return { fs, whole: `block size 2^${10 + logBlock} is not understood` }
  const blockSize = 1024 << logBlock
  const is64 = (incompat & INCOMPAT_64BIT) !== 0
  const blocksCount = sb.readUInt32LE(0x4) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0)
  const freeBlocks = sb.readUInt32LE(0xc) + (is64 ? sb.readUInt32LE(0x158) * 2 ** 32 : 0)
  const firstDataBlock = sb.readUInt32LE(0x14)
  const blocksPerGroup = sb.readUInt32LE(0x20)
  const inodesPerGroup = sb.readUInt32LE(0x28)
  const inodeSize = sb.readUInt32LE(0x4c) >= 1 ? sb.readUInt16LE(0x58) : 128
  const descSize = is64 ? sb.readUInt16LE(0xfe) : 32
  if (blocksPerGroup === 0 || blocksPerGroup > 8 * blockSize || descSize < 32 || inodeSize < 128) return { fs, whole: 'the superblock geometry is not understood' }
  if (blocksCount * blockSize > partitionSize) return { fs, whole: `the filesystem (${blocksCount * blockSize} bytes) is larger than its partition (${partitionSize})` }
  const groups = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup)
  const backups = [sb.readUInt32LE(0x24c), sb.readUInt32LE(0x250)]
  const hasSuper = (g: number) =>
    compat & COMPAT_SPARSE_SUPER2 ? g === 0 || backups.includes(g) : !(ro & RO_SPARSE_SUPER) || g <= 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7)
  return {
    fs,
    geometry: {
      blockSize,
      blocksCount,
      freeBlocks,
      firstDataBlock,
      blocksPerGroup,
      groups,
      is64,
      descSize,
      gdtBlocks: Math.ceil((groups * descSize) / blockSize),
      reservedGdtBlocks: sb.readUInt16LE(0xce),
      inodeTableBlocks: Math.ceil((inodesPerGroup * inodeSize) / blockSize),
      uninitFlags: (ro & (RO_GDT_CSUM | RO_METADATA_CSUM)) !== 0,
      hasSuper,
    },
  }
}

interface Descriptor {
  readonly blockBitmap: number
  readonly inodeBitmap: number
  readonly inodeTable: number
  readonly flags: number
}

function descriptorAt(b: Buffer, at: number, is64: boolean): Descriptor {
  const hi = (o: number) => (is64 ? b.readUInt32LE(at + o) * 2 ** 32 : 0)
  return {
    blockBitmap: b.readUInt32LE(at) + hi(0x20),
    inodeBitmap: b.readUInt32LE(at + 4) + hi(0x24),
    inodeTable: b.readUInt32LE(at + 8) + hi(0x28),
    flags: b.readUInt16LE(at + 0x12),
  }
}

// The allocated blocks of one group as runs of block numbers, from its bitmap.
// Bit i (least significant first) stands for block groupStart + i.
export function bitmapRuns(bitmap: Buffer, groupStart: number, blocksInGroup: number): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  let runStart = -1
  const bytes = Math.ceil(blocksInGroup / 8)
  for (let i = 0; i < bytes; i++) {
    const v = bitmap[i]!
    if ((v === 0xff && runStart >= 0) || (v === 0 && runStart < 0)) continue
    for (let bit = 0; bit < 8; bit++) {
      const n = i * 8 + bit
      if (n >= blocksInGroup) break
      if (v & (1 << bit)) {
        if (runStart < 0) runStart = n
      } else if (runStart >= 0) {
        runs.push([groupStart + runStart, groupStart + n])
        runStart = -1
      }
    }
  }
  if (runStart >= 0) runs.push([groupStart + runStart, groupStart + blocksInGroup])
  return runs
}

// Every group's bitmaps and inode table as [first, end) block runs, sorted: with
// flex_bg they sit in other groups than their own.
function metadataRuns(g: ExtGeometry, all: readonly Descriptor[]): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  for (const d of all) runs.push([d.blockBitmap, d.blockBitmap + 1], [d.inodeBitmap, d.inodeBitmap + 1], [d.inodeTable, d.inodeTable + g.inodeTableBlocks])
  return runs.sort((x, y) => x[0] - y[0])
}

// The blocks in use of a group whose bitmap was never written (BLOCK_UNINIT): its
// superblock and descriptor backup, and any group's bitmaps and inode table that
// lie inside it. What the kernel computes. `meta` is sorted: found by bisection,
// so a filesystem of 30 000 groups is not 30 000 x 30 000 steps.
function uninitRuns(g: ExtGeometry, group: number, start: number, end: number, meta: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  if (g.hasSuper(group)) runs.push([start, Math.min(end, start + 1 + g.gdtBlocks + g.reservedGdtBlocks)])
  // Inode tables may be longer than a group's stride, so start one table length early.
  let lo = 0
  let hi = meta.length
  const from = start - g.inodeTableBlocks
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (meta[mid]![0] < from) lo = mid + 1
    else hi = mid
  }
  for (let i = lo; i < meta.length && meta[i]![0] < end; i++) {
    const a = Math.max(meta[i]![0], start)
    const b = Math.min(meta[i]![1], end)
    if (a < b) runs.push([a, b])
  }
  return runs.sort((x, y) => x[0] - y[0])
}

// ext2/3/4: reads the superblock now; the returned `used()` walks the groups,
// reading each group's descriptor and bitmap just before yielding its blocks, so
// on a mounted filesystem the map is as fresh as the read that follows it.
// Benchmark before editing (bench/compare.ts).
export async function probeExt(part: ByteReader): Promise<FsProbe | undefined> {
  if (part.size < 2048) return undefined
  const sb = await part.read(1024, 1024)
  const parsed = parseExtSuperblock(sb, part.size)
  if (!parsed) return undefined
  if (parsed.whole) return { fs: parsed.fs, whole: parsed.whole }
  const g = parsed.geometry!
  const bs = g.blockSize
  const gdtStart = (g.firstDataBlock + 1) * bs
  const readDescriptors = async (first: number, count: number) => {
    const b = await part.read(gdtStart + first * g.descSize, count * g.descSize)
    return Array.from({ length: count }, (_, i) => descriptorAt(b, i * g.descSize, g.is64))
  }
  const outside = (d: Descriptor) => [d.blockBitmap, d.inodeBitmap, d.inodeTable + g.inodeTableBlocks - 1].some((b) => b >= g.blocksCount)
  const all = await readDescriptors(0, g.groups)
  const bad = all.findIndex(outside)
  if (bad >= 0) return { fs: parsed.fs, whole: `group ${bad}'s descriptor points past the end of the filesystem` }
  const meta = metadataRuns(g, all)
  return {
    fs: parsed.fs,
    bytes: g.blocksCount * bs,
    estimatedUsed: (g.blocksCount - g.freeBlocks) * bs,
    async *used() {
      // Block 0 (boot sector, and the superblock with 1 KiB blocks) precedes group 0.
      yield { start: 0, end: Math.max(2048, g.firstDataBlock * bs) }
      for (let group = 0; group < g.groups; group++) {
        // Its descriptor again, then its bitmap: a group first used during the image loses BLOCK_UNINIT.
        const d = (await readDescriptors(group, 1))[0]!
        if (outside(d)) throw new SourceReadError(part.path, (part.base ?? 0) + gdtStart + group * g.descSize, `group ${group}'s descriptor changed to point past the end of the filesystem while it was read`)
        const start = g.firstDataBlock + group * g.blocksPerGroup
        const end = Math.min(g.blocksCount, start + g.blocksPerGroup)
        const runs =
          g.uninitFlags && d.flags & BG_BLOCK_UNINIT
            ? uninitRuns(g, group, start, end, meta)
            : bitmapRuns(await part.read(d.blockBitmap * bs, bs), start, end - start)
        for (const [a, b] of runs) yield { start: a * bs, end: b * bs }
      }
    },
  }
}
