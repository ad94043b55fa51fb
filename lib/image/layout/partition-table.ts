import { crc32 } from 'node:zlib'
import type { ByteReader } from './byte-reader.js'

// One partition as the table describes it, in bytes from the start of the card.
export interface Partition {
  /** 1-4 primary, 5+ logical (MBR); entry index + 1 (GPT). */
  readonly number: number
  readonly start: number
  readonly size: number
  /** MBR type byte as 0xNN, or the GPT type GUID. */
  readonly type: string
}

export type PartitionTable =
  | { readonly scheme: 'mbr' | 'gpt'; readonly sectorSize: number; readonly partitions: readonly Partition[] }
  | { readonly scheme: 'none'; readonly reason: string }

const SECTOR = 512
const EXTENDED = new Set([0x05, 0x0f, 0x85])
const MAX_LOGICAL = 128

// Reads an MBR (with its chain of logical partitions) or a GPT. Anything odd (no
// signature, a partition past the end of the card, two partitions overlapping, a
// bad GPT checksum) is reported as 'none' with the reason: the caller then reads
// the whole card, because a table misread would lose data.
export async function readPartitionTable(src: ByteReader): Promise<PartitionTable> {
  if (src.size < 2 * SECTOR) return none('the source is smaller than a partition table')
  const mbr = await src.read(0, SECTOR)
  if (mbr.readUInt16LE(510) !== 0xaa55) return none('no MBR signature (0x55AA) in sector 0')
  const entries = [0, 1, 2, 3].map((i) => entryAt(mbr, 446 + 16 * i))
  if (entries.some((e) => e.status !== 0 && e.status !== 0x80))
    return none('sector 0 is not a partition table (boot flags other than 0x00/0x80)')
  const used = entries.map((e, i) => ({ ...e, number: i + 1 })).filter((e) => e.type !== 0 && e.sectors > 0)
  if (used.some((e) => e.type === 0xee)) return readGpt(src)
  const parts: Partition[] = []
  for (const e of used) {
    if (!EXTENDED.has(e.type)) {
      parts.push({ number: e.number, start: e.lba * SECTOR, size: e.sectors * SECTOR, type: hexType(e.type) })
      continue
    }
    const logical = await readLogical(src, e.lba)
    if (typeof logical === 'string') return none(logical)
    parts.push(...logical)
  }
  return checked('mbr', SECTOR, parts, src.size)
}

function none(reason: string): PartitionTable {
  return { scheme: 'none', reason }
}

function entryAt(b: Buffer, at: number) {
  return { status: b[at]!, type: b[at + 4]!, lba: b.readUInt32LE(at + 8), sectors: b.readUInt32LE(at + 12) }
}

function hexType(t: number): string {
  return `0x${t.toString(16).padStart(2, '0')}`
}

// Follows the EBR chain: each EBR holds one logical partition (relative to itself)
// and a link to the next EBR (relative to the extended partition).
async function readLogical(src: ByteReader, extStart: number): Promise<Partition[] | string> {
  const parts: Partition[] = []
  const seen = new Set<number>()
  for (let ebr = extStart, n = 5; ; n++) {
    if (seen.has(ebr) || seen.size >= MAX_LOGICAL)
      return `the chain of logical partitions loops or exceeds ${MAX_LOGICAL}`
    seen.add(ebr)
    if ((ebr + 1) * SECTOR > src.size) return `an extended boot record lies past the end of the card (sector ${ebr})`
    const b = await src.read(ebr * SECTOR, SECTOR)
    if (b.readUInt16LE(510) !== 0xaa55) return `no signature in the extended boot record at sector ${ebr}`
    const part = entryAt(b, 446)
    const next = entryAt(b, 462)
    if (part.type !== 0 && part.sectors > 0)
      parts.push({ number: n, start: (ebr + part.lba) * SECTOR, size: part.sectors * SECTOR, type: hexType(part.type) })
    if (!EXTENDED.has(next.type) || next.sectors === 0) return parts
    ebr = extStart + next.lba
  }
}

function guid(b: Buffer): string {
  const h = b.toString('hex')
  const le = (s: string) => s.match(/../g)!.reverse().join('')
  const parts = [le(h.slice(0, 8)), le(h.slice(8, 12)), le(h.slice(12, 16)), h.slice(16, 20), h.slice(20)]
  return parts.join('-').toUpperCase()
}

// A GPT behind the protective MBR: header at LBA 1 (512-byte sectors, else 4096),
// both CRC-32s checked before an entry is trusted.
async function readGpt(src: ByteReader): Promise<PartitionTable> {
  for (const sector of [512, 4096]) {
    if (2 * sector > src.size) break
    const h = await src.read(sector, sector)
    if (h.toString('latin1', 0, 8) !== 'EFI PART') continue
    const headerSize = h.readUInt32LE(12)
    if (headerSize < 92 || headerSize > sector) return none(`GPT header size ${headerSize} is not understood`)
    const head = Buffer.from(h.subarray(0, headerSize))
    const want = head.readUInt32LE(16)
    head.writeUInt32LE(0, 16)
    if (crc32(head) !== want) return none('the GPT header checksum is wrong')
    const entriesLba = Number(h.readBigUInt64LE(72))
    const count = h.readUInt32LE(80)
    const entrySize = h.readUInt32LE(84)
    // Bounded by what a table can hold (UEFI: 128 x 2^n bytes), never by the card's size.
    if (
      entrySize < 128 ||
      entrySize > 4096 ||
      (entrySize & (entrySize - 1)) !== 0 ||
      count > 4096 ||
      entriesLba * sector + count * entrySize > src.size
    ) {
      return none('the GPT entry array is not understood')
    }
    const table = await src.read(entriesLba * sector, count * entrySize)
    if (crc32(table) !== h.readUInt32LE(88)) return none('the GPT entry array checksum is wrong')
    const parts: Partition[] = []
    for (let i = 0; i < count; i++) {
      const e = table.subarray(i * entrySize, (i + 1) * entrySize)
      if (e.subarray(0, 16).every((x) => x === 0)) continue
      const first = Number(e.readBigUInt64LE(32))
      const last = Number(e.readBigUInt64LE(40))
      if (last < first) return none(`GPT partition ${i + 1} ends before it starts`)
      parts.push({
        number: i + 1,
        start: first * sector,
        size: (last - first + 1) * sector,
        type: guid(e.subarray(0, 16)),
      })
    }
    return checked('gpt', sector, parts, src.size)
  }
  return none('a protective MBR (type 0xee) without a readable GPT header')
}

// Sorted by start; refused when there is none (a superfloppy: the filesystem
// starts in sector 0), when a partition runs past the card or two overlap.
function checked(scheme: 'mbr' | 'gpt', sectorSize: number, parts: Partition[], size: number): PartitionTable {
  if (parts.length === 0) return none(`the ${scheme.toUpperCase()} lists no partitions`)
  const sorted = [...parts].sort((a, b) => a.start - b.start)
  for (const [i, p] of sorted.entries()) {
    if (p.start + p.size > size)
      return none(`partition ${p.number} ends at byte ${p.start + p.size}, past the end of the card (${size})`)
    const prev = sorted[i - 1]
    if (prev && prev.start + prev.size > p.start) return none(`partitions ${prev.number} and ${p.number} overlap`)
  }
  return { scheme, sectorSize, partitions: sorted }
}
