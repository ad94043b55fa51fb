import { SourceReadError } from '../../errors.js'
import type { ByteReader } from './byte-reader.js'
import { crc16 } from '../../util/crc16.js'
import { crc32cLe } from '../../util/crc32c.js'
import type { FsProbe } from './fs-probe.js'

// Feature bits this reader understands (see the ext4 disk layout). A filesystem with
// any other incompat or ro_compat bit is read whole: guessing could drop data.
const INCOMPAT_KNOWN =
  0x2 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000
const RO_COMPAT_KNOWN = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x400 | 0x1000 | 0x2000 | 0x8000 | 0x10000
const INCOMPAT_NAMES: Record<number, string> = { 0x1: 'compression', 0x8: 'journal_dev', 0x10: 'meta_bg' }
const RO_COMPAT_NAMES: Record<number, string> = {
  0x80: 'snapshot',
  0x200: 'bigalloc',
  0x800: 'replica',
  0x4000: 'shared_blocks',
}
const INCOMPAT_64BIT = 0x80
const INCOMPAT_EXTENTS = 0x40
const COMPAT_JOURNAL = 0x4
const COMPAT_SPARSE_SUPER2 = 0x200
const RO_SPARSE_SUPER = 0x1
const RO_GDT_CSUM = 0x10
const RO_METADATA_CSUM = 0x400
const BG_BLOCK_UNINIT = 0x2
const BG_INODE_UNINIT = 0x1
const INCOMPAT_FLEX_BG = 0x200
const INCOMPAT_CSUM_SEED = 0x2000
const STATE_ERRORS = 0x2
// 1 M groups of 64-byte descriptors (128 TiB at 4 KiB blocks): a bound on what is allocated.
const MAX_GDT_BYTES = 64 * 2 ** 20

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
  readonly inodesPerGroup: number
  readonly inodeSize: number
  /** BLOCK_UNINIT is only meaningful with group descriptor checksums (the kernel ignores it otherwise). */
  readonly uninitFlags: boolean
  /** Which checksums the descriptors and bitmaps carry. */
  readonly csum: 'crc32c' | 'crc16' | 'none'
  /** The metadata_csum seed (crc32c of the UUID, or s_checksum_seed); the UUID for crc16. */
  readonly csumSeed: number
  readonly uuid: Buffer
  readonly flexBg: boolean
  readonly hasSuper: (group: number) => boolean
}

type Parsed = { fs: string; geometry?: ExtGeometry; whole?: string }

function bits(mask: number, names: Record<number, string>): string {
  const out: string[] = []
  for (let b = 1; b <= mask && b > 0; b *= 2) if (mask & b) out.push(names[b] ?? `0x${b.toString(16)}`)
  return out.join(', ')
}

function isPowerOf(n: number, base: number): boolean {
  while (n > 1 && n % base === 0) n /= base
  return n === 1
}

const isPowerOf2 = (n: number) => n > 0 && Number.isInteger(n) && (n & (n - 1)) === 0

// The superblock's own checksum (metadata_csum): crc32c of its first 1020 bytes.
export function superblockChecksum(sb: Buffer): number {
  return crc32cLe(0xffffffff, sb.subarray(0, 0x3fc))
}

// Parses the superblock at byte 1024; undefined when there is no ext magic. Every
// field the map depends on is checked against the others (what e2fsck checks first):
// on-disk metadata is evidence, and a card whose superblock disagrees with itself
// is read whole, with the reason.
export function parseExtSuperblock(sb: Buffer, partitionSize: number): Parsed | undefined {
  if (sb.readUInt16LE(0x38) !== 0xef53) return undefined
  const compat = sb.readUInt32LE(0x5c)
  const incompat = sb.readUInt32LE(0x60)
  const ro = sb.readUInt32LE(0x64)
  const fs = incompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT) ? 'ext4' : compat & COMPAT_JOURNAL ? 'ext3' : 'ext2'
  const whole = (reason: string): Parsed => ({ fs, whole: reason })
  if (ro & RO_METADATA_CSUM && (sb[0x175] !== 1 || superblockChecksum(sb) !== sb.readUInt32LE(0x3fc)))
    return whole('the superblock checksum is wrong')
  const unknown = [bits(incompat & ~INCOMPAT_KNOWN, INCOMPAT_NAMES), bits(ro & ~RO_COMPAT_KNOWN, RO_COMPAT_NAMES)]
    .filter(Boolean)
    .join(', ')
  if (unknown) return whole(`feature not understood: ${unknown}`)
  if (sb.readUInt16LE(0x3a) & STATE_ERRORS || sb.readUInt32LE(0x194) > 0) {
    return whole(
      `the superblock records filesystem errors (state 0x${sb.readUInt16LE(0x3a).toString(16)}, ` +
        `${sb.readUInt32LE(0x194)} errors): the card is suspect`,
    )
  }
  const logBlock = sb.readUInt32LE(0x18)
  if (logBlock > 6) return whole(`block size 2^${10 + logBlock} is not understood`)
  const blockSize = 1024 << logBlock
  const is64 = (incompat & INCOMPAT_64BIT) !== 0
  const blocksCount = sb.readUInt32LE(0x4) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0)
  const freeBlocks = sb.readUInt32LE(0xc) + (is64 ? sb.readUInt32LE(0x158) * 2 ** 32 : 0)
  const firstDataBlock = sb.readUInt32LE(0x14)
  const blocksPerGroup = sb.readUInt32LE(0x20)
  const inodesCount = sb.readUInt32LE(0x0)
  const inodesPerGroup = sb.readUInt32LE(0x28)
  const inodeSize = sb.readUInt32LE(0x4c) >= 1 ? sb.readUInt16LE(0x58) : 128
  const descSize = is64 ? sb.readUInt16LE(0xfe) : 32
  const reservedGdtBlocks = sb.readUInt16LE(0xce)
  if (
    blocksPerGroup === 0 ||
    blocksPerGroup > 8 * blockSize ||
    blocksPerGroup % 8 !== 0 ||
    inodeSize < 128 ||
    inodeSize > blockSize ||
    !isPowerOf2(inodeSize)
  ) {
    return whole('the superblock geometry is not understood')
  }
  if (firstDataBlock !== (blockSize === 1024 ? 1 : 0))
    return whole(`first data block ${firstDataBlock} does not fit ${blockSize}-byte blocks`)
  if (is64 && (descSize < 64 || descSize > 1024 || !isPowerOf2(descSize)))
    return whole(`descriptor size ${descSize} is not valid for a 64bit filesystem`)
  if (blocksCount <= firstDataBlock) return whole(`the block count ${blocksCount} leaves no data blocks`)
  if (blocksCount * blockSize > partitionSize)
    return whole(`the filesystem (${blocksCount * blockSize} bytes) is larger than its partition (${partitionSize})`)
  const groups = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup)
  if (inodesPerGroup === 0 || inodesPerGroup > 8 * blockSize || inodesCount !== groups * inodesPerGroup) {
    return whole(`${inodesCount} inodes do not match ${groups} groups of ${inodesPerGroup}`)
  }
  const gdtBlocks = Math.ceil((groups * descSize) / blockSize)
  // Without meta_bg the descriptors and their reserve sit in group 0 behind the superblock.
  if (
    reservedGdtBlocks > blockSize / 4 ||
    1 + gdtBlocks + reservedGdtBlocks > blocksPerGroup ||
    groups * descSize > MAX_GDT_BYTES
  ) {
    return whole(
      `${groups} groups of ${descSize}-byte descriptors (+${reservedGdtBlocks} reserved blocks) do not fit in group 0`,
    )
  }
  const backups = [sb.readUInt32LE(0x24c), sb.readUInt32LE(0x250)]
  const hasSuper = (g: number) =>
    compat & COMPAT_SPARSE_SUPER2
      ? g === 0 || backups.includes(g)
      : !(ro & RO_SPARSE_SUPER) || g <= 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7)
  const uuid = Buffer.from(sb.subarray(0x68, 0x78))
  const csum = ro & RO_METADATA_CSUM ? 'crc32c' : ro & RO_GDT_CSUM ? 'crc16' : 'none'
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
      gdtBlocks,
      reservedGdtBlocks,
      inodeTableBlocks: Math.ceil((inodesPerGroup * inodeSize) / blockSize),
      inodesPerGroup,
      inodeSize,
      uninitFlags: csum !== 'none',
      csum,
      csumSeed: incompat & INCOMPAT_CSUM_SEED ? sb.readUInt32LE(0x270) : crc32cLe(0xffffffff, uuid),
      uuid,
      flexBg: (incompat & INCOMPAT_FLEX_BG) !== 0,
      hasSuper,
    },
  }
}

interface Descriptor {
  readonly blockBitmap: number
  readonly inodeBitmap: number
  readonly inodeTable: number
  readonly flags: number
  readonly freeBlocks: number
  readonly blockBitmapCsum: number
  /** Inodes at the end of the group's table that were never used (bg_itable_unused). */
  readonly itableUnused: number
  /** Whether the descriptor's own checksum holds (true when the filesystem has none). */
  readonly csumOk: boolean
}

// A descriptor's checksum as e2fsprogs' ext2fs_group_desc_csum computes it.
export function descriptorChecksum(g: ExtGeometry, group: number, desc: Buffer): number {
  const num = Buffer.alloc(4)
  num.writeUInt32LE(group)
  if (g.csum === 'crc32c') {
    const d = Buffer.from(desc)
    d.writeUInt16LE(0, 0x1e)
    return crc32cLe(crc32cLe(g.csumSeed, num), d) & 0xffff
  }
  const head = crc16(crc16(crc16(0xffff, g.uuid), num), desc.subarray(0, 0x1e))
  return desc.length > 0x20 ? crc16(head, desc.subarray(0x20)) : head
}

function descriptorAt(g: ExtGeometry, b: Buffer, at: number, group: number): Descriptor {
  const wide = g.is64 && g.descSize >= 64
  const hi32 = (o: number) => (wide ? b.readUInt32LE(at + o) * 2 ** 32 : 0)
  const hi16 = (o: number) => (wide ? b.readUInt16LE(at + o) * 65536 : 0)
  const raw = b.subarray(at, at + g.descSize)
  return {
    blockBitmap: b.readUInt32LE(at) + hi32(0x20),
    inodeBitmap: b.readUInt32LE(at + 4) + hi32(0x24),
    inodeTable: b.readUInt32LE(at + 8) + hi32(0x28),
    flags: b.readUInt16LE(at + 0x12),
    freeBlocks: b.readUInt16LE(at + 0xc) + hi16(0x2c),
    blockBitmapCsum: b.readUInt16LE(at + 0x18) + hi16(0x38),
    itableUnused: b.readUInt16LE(at + 0x1c) + hi16(0x32),
    csumOk: g.csum === 'none' || descriptorChecksum(g, group, raw) === b.readUInt16LE(at + 0x1e),
  }
}

// What is wrong with where a descriptor puts its group's metadata, if anything:
// inside the filesystem, and inside its own group unless flex_bg lets it move.
function misplaced(g: ExtGeometry, d: Descriptor, group: number): string | undefined {
  const last = d.inodeTable + g.inodeTableBlocks - 1
  if ([d.blockBitmap, d.inodeBitmap, last].some((b) => b >= g.blocksCount))
    return 'points past the end of the filesystem'
  if ([d.blockBitmap, d.inodeBitmap, d.inodeTable].some((b) => b < g.firstDataBlock))
    return 'points before the first data block'
  if (g.flexBg) return undefined
  const start = g.firstDataBlock + group * g.blocksPerGroup
  const end = Math.min(g.blocksCount, start + g.blocksPerGroup)
  return [d.blockBitmap, d.inodeBitmap, d.inodeTable, last].some((b) => b < start || b >= end)
    ? 'puts its metadata outside its group (no flex_bg)'
    : undefined
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
  for (const d of all)
    runs.push(
      [d.blockBitmap, d.blockBitmap + 1],
      [d.inodeBitmap, d.inodeBitmap + 1],
      [d.inodeTable, d.inodeTable + g.inodeTableBlocks],
    )
  return runs.sort((x, y) => x[0] - y[0])
}

// The blocks at the end of a group's inode table that hold no inode ever used:
// INODE_UNINIT groups use none, others the table's first (ipg - itable_unused).
// Trusted only from a descriptor whose checksum holds, on a filesystem that keeps
// these fields (uninit_bg or metadata_csum; pi-gen's root has metadata_csum).
export function unusedTableTail(g: ExtGeometry, d: Descriptor): [number, number] | undefined {
  if (!g.uninitFlags || !d.csumOk) return undefined
  const used = d.flags & BG_INODE_UNINIT ? 0 : g.inodesPerGroup - Math.min(d.itableUnused, g.inodesPerGroup)
  const usedBlocks = Math.ceil((used * g.inodeSize) / g.blockSize)
  return usedBlocks < g.inodeTableBlocks ? [d.inodeTable + usedBlocks, d.inodeTable + g.inodeTableBlocks] : undefined
}

// Block runs with the parts inside `tails` (sorted, disjoint) marked as known zeros.
function markTails(
  runs: ReadonlyArray<readonly [number, number]>,
  tails: ReadonlyArray<readonly [number, number]>,
): Array<[number, number, boolean]> {
  const out: Array<[number, number, boolean]> = []
  for (const [a, b] of runs) {
    let at = a
    for (const [x, y] of tails) {
      if (y <= at || x >= b) continue
      if (x > at) out.push([at, x, false])
      out.push([Math.max(x, at), Math.min(y, b), true])
      at = Math.min(y, b)
    }
    if (at < b) out.push([at, b, false])
  }
  return out
}

// Without flex_bg, mke2fs and resize2fs put a group's block bitmap, inode bitmap and
// inode table right after its superblock backup and descriptors: in a group whose
// map is computed from them (BLOCK_UNINIT), anything else is not trusted.
function canonical(g: ExtGeometry, d: Descriptor, group: number, start: number): boolean {
  const base = start + (g.hasSuper(group) ? 1 + g.gdtBlocks + g.reservedGdtBlocks : 0)
  return d.blockBitmap === base && d.inodeBitmap === base + 1 && d.inodeTable === base + 2
}

// Two pieces of metadata in one block (bitmaps, inode tables, superblock backups and
// descriptors): e2fsck's "conflicts with some other fs block". A descriptor that
// says so has been damaged, and the map it implies would drop blocks.
function overlap(g: ExtGeometry, meta: ReadonlyArray<readonly [number, number]>): string | undefined {
  const all = [...meta]
  for (let group = 0; group < g.groups; group++) {
    const start = g.firstDataBlock + group * g.blocksPerGroup
    if (g.hasSuper(group)) all.push([start, start + 1 + g.gdtBlocks + g.reservedGdtBlocks])
  }
  all.sort((x, y) => x[0] - y[0])
  for (let i = 1; i < all.length; i++) {
    if (all[i]![0] < all[i - 1]![1]) return `group metadata overlaps at block ${all[i]![0]}`
  }
  return undefined
}

// The blocks in use of a group whose bitmap was never written (BLOCK_UNINIT): its
// superblock and descriptor backup, and any group's bitmaps and inode table that
// lie inside it. What the kernel computes. `meta` is sorted: found by bisection,
// so a filesystem of 30 000 groups is not 30 000 x 30 000 steps.
function uninitRuns(
  g: ExtGeometry,
  group: number,
  start: number,
  end: number,
  meta: ReadonlyArray<readonly [number, number]>,
): Array<[number, number]> {
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

// Bits set in each byte value: a bitmap's free count is compared with its descriptor's.
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, v) => {
  let n = 0
  for (let x = v; x; x >>= 1) n += x & 1
  return n
})

function setBits(bitmap: Buffer, n: number): number {
  let count = 0
  const whole = n >> 3
  for (let i = 0; i < whole; i++) count += POPCOUNT[bitmap[i]!]!
  for (let bit = whole * 8; bit < n; bit++) if (bitmap[bit >> 3]! & (1 << (bit & 7))) count++
  return count
}

// Why a group's block bitmap cannot be trusted, or undefined: its checksum
// (metadata_csum), its free count against the descriptor's, and the group's own
// metadata (superblock backup, descriptors, bitmaps, inode tables) marked in use.
function bitmapDoubt(
  g: ExtGeometry,
  d: Descriptor,
  bitmap: Buffer,
  start: number,
  blocks: number,
  required: ReadonlyArray<readonly [number, number]>,
): string | undefined {
  if (g.csum === 'crc32c') {
    const sum = crc32cLe(g.csumSeed, bitmap.subarray(0, g.blocksPerGroup / 8))
    const wide = g.is64 && g.descSize >= 64
    if ((wide ? sum : sum & 0xffff) !== d.blockBitmapCsum) return 'block bitmap checksum is wrong'
  }
  const free = blocks - setBits(bitmap, blocks)
  if (free !== d.freeBlocks) return `block bitmap shows ${free} free blocks, the descriptor ${d.freeBlocks}`
  for (const [a, b] of required) {
    for (let x = a; x < b; x++)
      if (!(bitmap[(x - start) >> 3]! & (1 << ((x - start) & 7)))) return `block bitmap marks metadata block ${x} free`
  }
  return undefined
}

// ext2/3/4: reads the superblock now; the returned `used()` walks the groups,
// reading each group's descriptor and bitmap just before yielding its blocks, so
// on a mounted filesystem the map is as fresh as the read that follows it. A group
// whose descriptor or bitmap is in doubt is read whole, and `note` says why.
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
    return Array.from({ length: count }, (_, i) => descriptorAt(g, b, i * g.descSize, first + i))
  }
  const all = await readDescriptors(0, g.groups)
  for (const [i, d] of all.entries()) {
    const where = misplaced(g, d, i)
    if (where) return { fs: parsed.fs, whole: `group ${i}'s descriptor ${where}` }
    if (!d.csumOk) return { fs: parsed.fs, whole: `group ${i}'s descriptor checksum is wrong` }
  }
  const meta = metadataRuns(g, all)
  const clash = overlap(g, meta)
  if (clash) return { fs: parsed.fs, whole: clash }
  // Which groups' inode tables lie in each group (with flex_bg, the leader holds 16):
  // their descriptors are read again just before that group's blocks go by.
  const groupOf = (block: number) => Math.floor((block - g.firstDataBlock) / g.blocksPerGroup)
  const tablesIn = new Map<number, number[]>()
  let unusedBlocks = 0
  for (const [i, d] of all.entries()) {
    for (let h = groupOf(d.inodeTable); h <= groupOf(d.inodeTable + g.inodeTableBlocks - 1); h++)
      tablesIn.set(h, [...(tablesIn.get(h) ?? []), i])
    const tail = unusedTableTail(g, d)
    if (tail) unusedBlocks += tail[1] - tail[0]
  }
  const freshTails = async (group: number) => {
    const tails: Array<[number, number]> = []
    const owners = tablesIn.get(group) ?? []
    if (owners.length === 0) return tails
    // A flex group's members are neighbours: their descriptors in one read, unless the layout scatters them.
    const lo = Math.min(...owners)
    const span = Math.max(...owners) - lo + 1
    const batch = span <= 4 * owners.length ? await readDescriptors(lo, span) : undefined
    for (const owner of owners) {
      const d = batch ? batch[owner - lo]! : (await readDescriptors(owner, 1))[0]!
      const tail = d.inodeTable === all[owner]!.inodeTable ? unusedTableTail(g, d) : undefined
      if (tail) tails.push(tail)
    }
    return tails.sort((x, y) => x[0] - y[0])
  }
  return {
    fs: parsed.fs,
    bytes: g.blocksCount * bs,
    estimatedUsed: Math.max(0, g.blocksCount - Math.min(g.freeBlocks, g.blocksCount) - unusedBlocks) * bs,
    async *used(note) {
      // Block 0 (boot sector, and the superblock with 1 KiB blocks) precedes group 0.
      yield { start: 0, end: Math.max(2048, g.firstDataBlock * bs) }
      for (let group = 0; group < g.groups; group++) {
        // Its descriptor again, then its bitmap: a group first used during the image loses BLOCK_UNINIT.
        const d = (await readDescriptors(group, 1))[0]!
        const where = misplaced(g, d, group)
        if (where)
          throw new SourceReadError(
            part.path,
            (part.base ?? 0) + gdtStart + group * g.descSize,
            `group ${group}'s descriptor changed while it was read and now ${where}`,
          )
        const start = g.firstDataBlock + group * g.blocksPerGroup
        const end = Math.min(g.blocksCount, start + g.blocksPerGroup)
        const required = uninitRuns(g, group, start, end, meta)
        let doubt: string | undefined
        let runs: Array<[number, number]>
        if (!d.csumOk) doubt = 'descriptor checksum is wrong'
        else if (g.uninitFlags && d.flags & BG_BLOCK_UNINIT && !g.flexBg && !canonical(g, d, group, start)) {
          doubt = 'uninitialised group whose bitmaps and inode table are not where mke2fs puts them'
        } else if (g.uninitFlags && d.flags & BG_BLOCK_UNINIT) {
          const inUse = required.reduce((n, [a, b]) => n + b - a, 0)
          if (end - start - inUse !== d.freeBlocks)
            doubt = `uninitialised group counts ${d.freeBlocks} free blocks, its metadata leaves ${end - start - inUse}`
          runs = required
        } else {
          const bitmap = await part.read(d.blockBitmap * bs, bs)
          doubt = bitmapDoubt(g, d, bitmap, start, end - start, required)
          runs = bitmapRuns(bitmap, start, end - start)
        }
        if (doubt) {
          note?.(`group ${group} read whole: ${doubt}`)
          runs = [[start, end]]
        }
        // Never-used inode table blocks become zeros instead of being read.
        const tails = doubt ? [] : await freshTails(group)
        for (const [a, b, zero] of markTails(runs!, tails))
          yield zero ? { start: a * bs, end: b * bs, zero: true } : { start: a * bs, end: b * bs }
      }
    },
  }
}
