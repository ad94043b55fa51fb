import t from 'tap'
import { openSync, readFileSync, writeSync, closeSync } from 'node:fs'
import path from 'node:path'
import { resizePartition } from '../../lib/restore/resize-partition.js'
import { sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sfdisk')
const MiB = 2 ** 20

// A card of `mib` MiB with a table sfdisk wrote: two partitions, the second to the end.
function card(dir: string, label: 'dos' | 'gpt', mib: number, extra = ''): string {
  const file = path.join(dir, `${label}.img`)
  sh(`truncate -s ${mib}M '${file}'`)
  sh(`sfdisk -q '${file}'`, {
    input: `label: ${label}\nunit: sectors\n\nstart=2048, size=${8 * 2048}, type=${label === 'gpt' ? 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7' : 'c'}\nstart=${10 * 2048}, size=${(mib - 12) * 2048}\n${extra}`,
  })
  return file
}

function apply(file: string, writes: ReturnType<typeof resizePartition>, size: number): void {
  const fd = openSync(file, 'r+')
  for (const w of writes) writeSync(fd, w.bytes, 0, w.bytes.length, w.at)
  closeSync(fd)
  sh(`truncate -s ${size} '${file}'`)
}

const parts = (file: string) =>
  (JSON.parse(sh(`sfdisk -J '${file}'`)) as { partitiontable: { partitions: Array<{ start: number; size: number }> } })
    .partitiontable.partitions

test('GPT: the entry, both headers and the backup at the new end, as sfdisk reads them', async (t) => {
  const file = card(tmp(t), 'gpt', 64)
  const head = readFileSync(file).subarray(0, 10 * MiB)
  const writes = resizePartition(head, 'gpt', 10 * MiB, 20 * MiB, 31 * MiB)
  apply(file, writes, 31 * MiB)
  t.same(parts(file)[1], { ...parts(file)[1], start: 10 * 2048, size: 20 * 2048 })
  const verify = sh(`sfdisk --verify '${file}' 2>&1`)
  t.notMatch(verify, /corrupt|invalid|mismatch|backup/i, verify)
  t.match(sh(`sfdisk -l '${file}'`), /Disk .*: 31 MiB/)
  t.throws(() => resizePartition(head, 'gpt', 10 * MiB, 30 * MiB, 31 * MiB), /would overlap the backup GPT/)
  t.throws(() => resizePartition(head, 'gpt', 11 * MiB, 10 * MiB, 31 * MiB), /no GPT entry starts at byte/)
  const bad = Buffer.from(head)
  bad.writeUInt8(bad.readUInt8(512 + 40) ^ 1, 512 + 40) // first usable LBA: covered by the header's CRC
  t.throws(() => resizePartition(bad, 'gpt', 10 * MiB, 20 * MiB, 31 * MiB), /GPT header's CRC does not match/)
  const badEntries = Buffer.from(head)
  badEntries.writeUInt8(badEntries.readUInt8(1024 + 200) ^ 1, 1024 + 200)
  t.throws(() => resizePartition(badEntries, 'gpt', 10 * MiB, 20 * MiB, 31 * MiB), /entries' CRC does not match/)
  t.throws(() => resizePartition(head.subarray(0, 512), 'gpt', 10 * MiB, 20 * MiB, 31 * MiB), /no GPT header/)
})

test('MBR: the entry sfdisk reads; a logical partition or a missing one is refused', async (t) => {
  const dir = tmp(t)
  const file = card(dir, 'dos', 64)
  const head = readFileSync(file).subarray(0, MiB)
  apply(file, resizePartition(head, 'mbr', 10 * MiB, 20 * MiB, 30 * MiB), 30 * MiB)
  t.same(parts(file)[1], { ...parts(file)[1], start: 10 * 2048, size: 20 * 2048 })
  t.throws(() => resizePartition(head, 'mbr', 12 * MiB, MiB, 30 * MiB), /no primary MBR entry starts at byte/)
  t.throws(() => resizePartition(Buffer.alloc(512), 'mbr', 10 * MiB, MiB, 30 * MiB), /no boot signature/)
  t.throws(() => resizePartition(head, 'mbr', 10 * MiB + 1, MiB, 30 * MiB), /whole sectors/)
})
