import { crc32 } from 'node:zlib'

const SECTOR = 512

/** Bytes to put at an offset of the card. */
export interface TableWrite {
  readonly at: number
  readonly bytes: Buffer
}

// The partition table of a card whose root partition (starting at `start`) now ends
// at start + size, on a disk of `disk` bytes: the MBR entry's sector count; or GPT's
// entry, both headers and both entry arrays, the backup pair moved to the new end,
// and the protective MBR. `head` holds the card's first sectors (GPT's entries included).
// Throws with the reason when the table is not one this can edit.
export function resizePartition(
  head: Buffer,
  scheme: 'mbr' | 'gpt',
  start: number,
  size: number,
  disk: number,
): TableWrite[] {
  if (start % SECTOR || size % SECTOR || disk % SECTOR) throw new Error('sizes must be whole sectors')
  if (head.length < SECTOR || head.readUInt16LE(510) !== 0xaa55) throw new Error('no boot signature in sector 0')
  return scheme === 'mbr' ? resizeMbr(head, start, size) : resizeGpt(head, start, size, disk)
}

function resizeMbr(head: Buffer, start: number, size: number): TableWrite[] {
  const mbr = Buffer.from(head.subarray(0, SECTOR))
  for (let i = 0; i < 4; i++) {
    const e = 446 + 16 * i
    if (mbr[e + 4] !== 0 && mbr.readUInt32LE(e + 8) * SECTOR === start) {
      if (size / SECTOR > 0xffffffff) throw new Error('the partition is too large for an MBR entry')
      mbr.writeUInt32LE(size / SECTOR, e + 12)
      return [{ at: 0, bytes: mbr }]
    }
  }
  throw new Error(`no primary MBR entry starts at byte ${start} (a logical partition is not resized)`)
}

function headerCrc(h: Buffer, size: number): number {
  const copy = Buffer.from(h.subarray(0, size))
  copy.writeUInt32LE(0, 16)
  return crc32(copy) >>> 0
}

function resizeGpt(head: Buffer, start: number, size: number, disk: number): TableWrite[] {
  const hdr = Buffer.from(head.subarray(SECTOR, 2 * SECTOR))
  if (hdr.toString('latin1', 0, 8) !== 'EFI PART') throw new Error('no GPT header at sector 1')
  const hsize = hdr.readUInt32LE(12)
  if (hsize < 92 || hsize > SECTOR) throw new Error(`GPT header size ${hsize} is not valid`)
  if (headerCrc(hdr, hsize) !== hdr.readUInt32LE(16)) throw new Error("the GPT header's CRC does not match")
  const entriesLba = Number(hdr.readBigUInt64LE(72))
  const count = hdr.readUInt32LE(80)
  const esize = hdr.readUInt32LE(84)
  const arrayBytes = count * esize
  if (esize < 128 || arrayBytes > 4 * 2 ** 20) throw new Error('GPT entry array of an unexpected size')
  const entriesAt = entriesLba * SECTOR
  if (head.length < entriesAt + arrayBytes) throw new Error('the GPT entry array is not in the first sectors')
  const entries = Buffer.from(head.subarray(entriesAt, entriesAt + arrayBytes))
  if (crc32(entries) >>> 0 !== hdr.readUInt32LE(88)) throw new Error("the GPT entries' CRC does not match")
  const sectors = disk / SECTOR
  const arraySectors = Math.ceil(arrayBytes / SECTOR)
  const lastUsable = sectors - 2 - arraySectors
  const newLast = (start + size) / SECTOR - 1
  if (newLast > lastUsable) throw new Error('the partition would overlap the backup GPT')
  let found = false
  for (let i = 0; i < count; i++) {
    const e = i * esize
    if (Number(entries.readBigUInt64LE(e + 32)) * SECTOR !== start) continue
    if (entries.subarray(e, e + 16).every((b) => b === 0)) continue
    entries.writeBigUInt64LE(BigInt(newLast), e + 40)
    found = true
  }
  if (!found) throw new Error(`no GPT entry starts at byte ${start}`)
  for (let i = 0; i < count; i++) {
    const e = i * esize
    if (entries.subarray(e, e + 16).every((b) => b === 0)) continue
    if (Number(entries.readBigUInt64LE(e + 40)) > lastUsable)
      throw new Error(`GPT entry ${i + 1} ends past the new end of the card`)
  }
  const entriesCrc = crc32(entries) >>> 0
  const primary = Buffer.from(hdr)
  primary.writeBigUInt64LE(BigInt(sectors - 1), 32)
  primary.writeBigUInt64LE(BigInt(lastUsable), 48)
  primary.writeUInt32LE(entriesCrc, 88)
  primary.writeUInt32LE(headerCrc(primary, hsize), 16)
  const backup = Buffer.from(primary)
  const backupEntriesLba = sectors - 1 - arraySectors
  backup.writeBigUInt64LE(BigInt(sectors - 1), 24)
  backup.writeBigUInt64LE(1n, 32)
  backup.writeBigUInt64LE(BigInt(backupEntriesLba), 72)
  backup.writeUInt32LE(headerCrc(backup, hsize), 16)
  // The protective MBR spans the disk (or as much as 32 bits can say).
  const mbr = Buffer.from(head.subarray(0, SECTOR))
  for (let i = 0; i < 4; i++) {
    const e = 446 + 16 * i
    if (mbr[e + 4] === 0xee) mbr.writeUInt32LE(Math.min(sectors - 1, 0xffffffff), e + 12)
  }
  const padded = Buffer.alloc(arraySectors * SECTOR)
  entries.copy(padded)
  return [
    { at: 0, bytes: mbr },
    { at: SECTOR, bytes: primary },
    { at: entriesAt, bytes: padded },
    { at: backupEntriesLba * SECTOR, bytes: padded },
    { at: (sectors - 1) * SECTOR, bytes: backup },
  ]
}
