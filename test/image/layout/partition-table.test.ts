import t from 'tap'
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { readPartitionTable } from '../../../lib/image/layout/partition-table.js'
import { sh } from '../../helpers/image.js'
import { tmp } from '../../helpers/tmp.js'
import { memReader } from './mem-reader.js'
import { withTools } from '../../helpers/tools.js'

const test = withTools(t, 'sfdisk')

const MIB = 2 ** 20

// An image of `mib` MiB with a table written by sfdisk from `script`.
function table(t: Test, mib: number, script: string): Buffer {
  const file = path.join(tmp(t), 'disk.img')
  sh(`truncate -s ${mib}M '${file}' && sfdisk -q --no-reread --no-tell-kernel '${file}'`, { input: script })
  return readFileSync(file)
}

function entry(b: Buffer, sector: number, i: number, type: number, lba: number, sectors: number, status = 0): void {
  const at = sector * 512 + 446 + 16 * i
  b[at] = status
  b[at + 4] = type
  b.writeUInt32LE(lba, at + 8)
  b.writeUInt32LE(sectors, at + 12)
  b.writeUInt16LE(0xaa55, sector * 512 + 510)
}

test('MBR: primaries and the chain of logical partitions, sorted by start', async (t) => {
  const b = table(
    t,
    64,
    'label: dos\nstart=2048, size=20480, type=c\nstart=22528, size=40960, type=5\nstart=24576, size=8192, type=83\nstart=34816, size=8192, type=82\nstart=45056, size=4096, type=83\n',
  )
  t.same(await readPartitionTable(memReader(b)), {
    scheme: 'mbr',
    sectorSize: 512,
    partitions: [
      { number: 1, start: 1 * MIB, size: 10 * MIB, type: '0x0c' },
      { number: 5, start: 12 * MIB, size: 4 * MIB, type: '0x83' },
      { number: 6, start: 17 * MIB, size: 4 * MIB, type: '0x82' },
      { number: 7, start: 22 * MIB, size: 2 * MIB, type: '0x83' },
    ],
  })
})

test('GPT: entries with their type GUIDs, both checksums checked', async (t) => {
  const b = table(
    t,
    32,
    'label: gpt\nstart=2048, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=10240, size=20480, type=0FC63DAF-8483-4772-8E47-3D69D8477DE4\n',
  )
  t.same(await readPartitionTable(memReader(b)), {
    scheme: 'gpt',
    sectorSize: 512,
    partitions: [
      { number: 1, start: 1 * MIB, size: 4 * MIB, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' },
      { number: 2, start: 5 * MIB, size: 10 * MIB, type: '0FC63DAF-8483-4772-8E47-3D69D8477DE4' },
    ],
  })
  const badHeader = Buffer.from(b)
  badHeader[512 + 40]! ^= 1
  t.same(await readPartitionTable(memReader(badHeader)), { scheme: 'none', reason: 'the GPT header checksum is wrong' })
  const badEntries = Buffer.from(b)
  badEntries[1024 + 40]! ^= 1
  t.same(await readPartitionTable(memReader(badEntries)), {
    scheme: 'none',
    reason: 'the GPT entry array checksum is wrong',
  })
  const noHeader = Buffer.from(b)
  noHeader.fill(0, 512, 1024)
  t.same(await readPartitionTable(memReader(noHeader)), {
    scheme: 'none',
    reason: 'a protective MBR (type 0xee) without a readable GPT header',
  })
  // A header whose entry array would run past the card, with a valid header checksum.
  const far = Buffer.from(b)
  far.writeBigUInt64LE(BigInt(b.length), 512 + 72)
  far.writeUInt32LE(0, 512 + 16)
  far.writeUInt32LE(crc32(far.subarray(512, 512 + far.readUInt32LE(512 + 12))), 512 + 16)
  t.same(await readPartitionTable(memReader(far)), { scheme: 'none', reason: 'the GPT entry array is not understood' })
  const odd = Buffer.from(b)
  odd.writeUInt32LE(60, 512 + 12)
  t.same(await readPartitionTable(memReader(odd)), { scheme: 'none', reason: 'GPT header size 60 is not understood' })
})

test('anything odd means no table: the caller then reads the whole card', async (t) => {
  const none = async (b: Buffer, size?: number) =>
    ((r) => (r.scheme === 'none' ? r.reason : r.scheme))(await readPartitionTable(memReader(b, size)))
  t.equal(await none(Buffer.alloc(512)), 'the source is smaller than a partition table')
  t.equal(await none(Buffer.alloc(4096)), 'no MBR signature (0x55AA) in sector 0')
  const boot = Buffer.alloc(4096)
  entry(boot, 0, 0, 0x83, 1, 2, 0x12)
  t.equal(await none(boot), 'sector 0 is not a partition table (boot flags other than 0x00/0x80)')
  const past = Buffer.alloc(4096)
  entry(past, 0, 0, 0x83, 2, 100)
  t.equal(await none(past), 'partition 1 ends at byte 52224, past the end of the card (4096)')
  const overlap = Buffer.alloc(8192)
  entry(overlap, 0, 0, 0x83, 1, 8)
  entry(overlap, 0, 1, 0x83, 4, 8)
  t.equal(await none(overlap), 'partitions 1 and 2 overlap')
  const loop = Buffer.alloc(8192)
  entry(loop, 0, 0, 0x05, 2, 12)
  entry(loop, 2, 0, 0x83, 1, 2)
  entry(loop, 2, 1, 0x05, 0, 4) // the next EBR is this one again
  t.equal(await none(loop), 'the chain of logical partitions loops or exceeds 128')
  const unsigned = Buffer.alloc(8192)
  entry(unsigned, 0, 0, 0x0f, 2, 12)
  t.equal(await none(unsigned), 'no signature in the extended boot record at sector 2')
  const ebrPast = Buffer.alloc(8192)
  entry(ebrPast, 0, 0, 0x05, 200, 12)
  t.equal(await none(ebrPast), 'an extended boot record lies past the end of the card (sector 200)')
  const gptBackwards = table(t, 8, 'label: gpt\nstart=2048, size=4096\n')
  gptBackwards.writeBigUInt64LE(1000n, 1024 + 40) // last LBA before the first
  const h = gptBackwards.subarray(512, 1024)
  h.writeUInt32LE(crc32(gptBackwards.subarray(1024, 1024 + 128 * 128)), 88)
  h.writeUInt32LE(0, 16)
  h.writeUInt32LE(crc32(h.subarray(0, h.readUInt32LE(12))), 16)
  t.equal(await none(gptBackwards), 'GPT partition 1 ends before it starts')
  const empty = Buffer.alloc(4096)
  entry(empty, 0, 0, 0, 0, 0)
  t.equal(
    await none(empty),
    'the MBR lists no partitions',
    'a signature without entries is a superfloppy, not an empty card',
  )
  const gptEmpty = table(t, 8, 'label: gpt\n')
  t.equal(await none(gptEmpty), 'the GPT lists no partitions')
  // An entry size taken from the card never sizes an allocation: 2^31-byte entries are refused.
  const huge = table(t, 8, 'label: gpt\nstart=2048, size=4096\n')
  const hh = huge.subarray(512, 1024)
  hh.writeUInt32LE(1, 80)
  hh.writeUInt32LE(2 ** 31, 84)
  hh.writeUInt32LE(0, 16)
  hh.writeUInt32LE(crc32(hh.subarray(0, hh.readUInt32LE(12))), 16)
  t.equal(await none(huge, 2 ** 40), 'the GPT entry array is not understood')
})
