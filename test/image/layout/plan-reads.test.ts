import t from 'tap'
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Extent } from '../../../lib/util/extent.js'
import { planReads, type PartitionReport } from '../../../lib/image/layout/plan-reads.js'
import { sh } from '../../helpers/image.js'
import { tmp } from '../../helpers/tmp.js'
import { memReader } from './mem-reader.js'
import { withTools } from '../../helpers/tools.js'

const test = withTools(t, 'mkfs.ext4', 'mkfs.vfat', 'sfdisk')

const MIB = 2 ** 20

// A 16 MiB card: partition 1 (1-9 MiB) holds a 4 MiB ext4, partition 2 (10-14 MiB) raw, 2 MiB tail.
function card(t: Test, label: 'dos' | 'gpt'): Buffer {
  const file = path.join(tmp(t), 'card.img')
  sh(`head -c 16M /dev/urandom > '${file}'`)
  sh(`sfdisk -q --no-reread --no-tell-kernel '${file}'`, {
    input: `label: ${label}\nstart=2048, size=16384\nstart=20480, size=8192\n`,
  })
  sh(`mkfs.ext4 -q -F -b 4096 -E offset=${MIB},nodiscard '${file}' 4M`)
  return readFileSync(file)
}

async function collect(plan: Awaited<ReturnType<typeof planReads>>) {
  const extents: Extent[] = []
  const done: PartitionReport[] = []
  for await (const e of plan.extents((r) => done.push({ ...r }))) extents.push(e)
  return { extents, done }
}

test('MBR: table and gaps whole, the filesystem where used, the rest of its partition as it is', async (t) => {
  const plan = await planReads(memReader(card(t, 'dos')))
  t.equal(plan.scheme, 'mbr')
  t.equal(plan.minCardBytes, 14 * MIB)
  const { extents, done } = await collect(plan)
  t.same(extents[0], { start: 0, end: MIB }, 'the table and the gap before partition 1')
  t.ok(
    extents.some((e) => e.start === MIB && e.end > MIB),
    'the start of the filesystem (superblock, descriptors)',
  )
  t.same(
    extents.filter((e) => e.start >= 5 * MIB),
    [
      { start: 5 * MIB, end: 9 * MIB },
      { start: 9 * MIB, end: 10 * MIB },
      { start: 10 * MIB, end: 14 * MIB },
      { start: 14 * MIB, end: 16 * MIB },
    ],
    'after the 4 MiB filesystem: its partition, the gap, partition 2, the tail',
  )
  t.match(done, [
    { number: 1, fs: 'ext4', method: 'used' },
    { number: 2, fs: undefined, method: 'whole', reason: 'no filesystem understood here', readBytes: 4 * MIB },
  ])
  t.ok(
    done[0]!.readBytes > 4 * MIB && done[0]!.readBytes < 6 * MIB,
    'partition 1: the used part of 4 MiB plus the 4 MiB after the filesystem',
  )
  t.equal(
    plan.estimatedReadBytes,
    extents.reduce((n, e) => n + (e.zero ? 0 : e.end - e.start), 0),
    'on an idle filesystem the estimate is what is read',
  )
})

test('skip-tail: MBR leaves the tail out, GPT keeps its backup header', async (t) => {
  const mbr = await collect(await planReads(memReader(card(t, 'dos')), { skipTail: true }))
  t.equal(mbr.extents.at(-1)?.end, 14 * MIB, 'nothing after the last partition')
  const gptCard = card(t, 'gpt')
  const gpt = await planReads(memReader(gptCard), { skipTail: true })
  t.equal(gpt.scheme, 'gpt')
  const { extents } = await collect(gpt)
  t.same(extents.at(-1), { start: 16 * MIB - 33 * 512, end: 16 * MIB }, 'the last 33 sectors: backup GPT')
  t.same(
    (await collect(await planReads(memReader(gptCard)))).extents.at(-1),
    { start: 14 * MIB, end: 16 * MIB },
    'without skip-tail: the whole tail',
  )
})

test('no table understood: the whole card, with the reason', async (t) => {
  const plan = await planReads(memReader(Buffer.alloc(8192)))
  t.match(plan, {
    scheme: 'none',
    reason: 'no MBR signature (0x55AA) in sector 0',
    minCardBytes: 8192,
    estimatedReadBytes: 8192,
  })
  t.same((await collect(plan)).extents, [{ start: 0, end: 8192 }])
  t.same((await collect(await planReads(memReader(Buffer.alloc(0))))).extents, [], 'an empty source: nothing to read')
})

test('a group bitmap is read only when the reader has taken the blocks before it (live filesystems)', async (t) => {
  const dir = tmp(t)
  const file = path.join(dir, 'card.img')
  sh(`head -c 40M /dev/urandom > '${dir}/big.bin' && mkdir '${dir}/c' && split -b 4M '${dir}/big.bin' '${dir}/c/part-'`)
  sh(
    `truncate -s 72M '${file}' && printf 'label: dos\\nstart=2048, size=131072\\n' | sfdisk -q --no-reread --no-tell-kernel '${file}'`,
  )
  sh(`mkfs.ext4 -q -F -b 4096 -g 2048 -E offset=${MIB},nodiscard -d '${dir}/c' '${file}' 64M`)
  const inner = memReader(readFileSync(file))
  let reads = 0
  const counting = { ...inner, read: (o: number, n: number) => ((reads += 1), inner.read(o, n)) }
  const plan = await planReads(counting)
  const atPlan = reads
  const seen: number[] = []
  for await (const e of plan.extents()) if (e.start >= MIB) seen.push(reads)
  const groups = 8
  t.ok(
    reads - atPlan >= 2 * groups,
    `each group's descriptor and bitmap read during the walk (${reads - atPlan} reads)`,
  )
  t.ok(seen[0]! <= atPlan + 2, "the filesystem's first blocks are handed out before later groups are read")
  t.ok(
    new Set(seen).size >= groups,
    `reads interleave with the blocks handed out (${new Set(seen).size} distinct points)`,
  )
})

test('a superfloppy (MBR signature, no entries) is read whole, even with skip-tail', async (t) => {
  const dir = tmp(t)
  const file = path.join(dir, 'card.img')
  sh(`head -c 8M /dev/urandom > '${file}' && mkfs.vfat --mbr=n '${file}' >/dev/null`) // FAT from sector 0: its boot sector carries 0x55AA
  const plan = await planReads(memReader(readFileSync(file)), { skipTail: true })
  t.match(plan, { scheme: 'none', reason: 'the MBR lists no partitions' })
  t.same((await collect(plan)).extents, [{ start: 0, end: 8 * MIB }], 'every byte')
})

// A reader that fails with a plain Error (not a card read error) at one offset once armed.
function failingAt(buf: Buffer, offset: number) {
  const inner = memReader(buf)
  const r = {
    armed: false,
    reader: {
      ...inner,
      read: (o: number, n: number) =>
        r.armed && o === offset ? Promise.reject(new TypeError('parser bug')) : inner.read(o, n),
    },
  }
  return r
}

test('a parser that fails reads its partition whole, and never fails the image', async (t) => {
  const buf = card(t, 'dos')
  const atProbe = failingAt(buf, MIB + 1024)
  atProbe.armed = true
  const plan = await planReads(atProbe.reader)
  t.match(plan.partitions[0], { method: 'whole', reason: 'its filesystem metadata could not be parsed (parser bug)' })
  t.same(
    (await collect(plan)).extents.slice(0, 2),
    [
      { start: 0, end: MIB },
      { start: MIB, end: 9 * MIB },
    ],
    'partition 1 whole',
  )

  const bitmap = MIB + buf.readUInt32LE(MIB + 4096) * 4096 // group 0's block bitmap
  const midWalk = failingAt(buf, bitmap)
  const plan2 = await planReads(midWalk.reader)
  midWalk.armed = true
  const { extents, done } = await collect(plan2)
  const covered = extents.filter((e) => e.start >= MIB && e.end <= 9 * MIB).reduce((n, e) => n + e.end - e.start, 0)
  t.equal(covered, 8 * MIB, 'from where the map failed, the partition is read whole')
  t.match(done[0]!.notes, [/the map failed at byte \d+ \(parser bug\): the rest is read whole/])
})
