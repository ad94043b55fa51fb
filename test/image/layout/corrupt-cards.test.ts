import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { descriptorChecksum, parseExtSuperblock, superblockChecksum } from '../../../lib/image/layout/ext-fs.js'
import { planReads } from '../../../lib/image/layout/plan-reads.js'
import { mixedContent, sh } from '../../helpers/image.js'
import { tmp } from '../../helpers/tmp.js'
import { memReader } from './mem-reader.js'
import { withTools } from '../../helpers/tools.js'

const test = withTools(t, 'dumpe2fs', 'mcopy', 'mkfs.ext4', 'mkfs.vfat', 'sfdisk')

// The property behind used-block imaging: whatever is wrong with a card's metadata,
// either its partition is read whole, or every block the filesystem's own tools
// count as in use (dumpe2fs for ext, the files' own bytes for FAT) is in the plan.
// Small cards built here are mutated field by field and byte by byte with a seeded
// generator, so a failure is reproducible from the seed it prints.

const MIB = 2 ** 20
const SECTOR = 512
const MUTATIONS = Number(process.env.SDB_MUTATIONS ?? 120)

// mulberry32: a small seeded generator.
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
}

interface Fixture {
  readonly card: Buffer
  readonly sizeOfPart: number
  /** Sectors of the partition that hold data in use (by the independent tool). */
  readonly inUse: ReadonlySet<number>
  /** Fields that may be mutated: [offset in the partition, bytes]. */
  readonly fields: ReadonlyArray<readonly [number, 1 | 2 | 4]>
  /** Byte ranges of the partition where random bytes are written (its metadata). */
  readonly meta: ReadonlyArray<readonly [number, number]>
  /** Makes the checksums right again after a mutation (a tool that rewrote it), when the filesystem has them. */
  readonly reseal?: (part: Buffer) => void
  /** The mutant's own in-use sectors by its tool, when the tool can still read it. */
  readonly toolInUse?: (part: Buffer, dir: string) => Set<number> | undefined
}

// Every sector of [start, end) in bytes.
function sectors(set: Set<number>, start: number, end: number): void {
  for (let s = Math.floor(start / SECTOR); s < Math.ceil(end / SECTOR); s++) set.add(s)
}

// Blocks dumpe2fs does not list as free, as partition sectors; undefined when it cannot read the filesystem.
function dumpe2fsInUse(file: string): Set<number> | undefined {
  const r = spawnSync('timeout', ['5', 'dumpe2fs', file], { encoding: 'utf8', maxBuffer: 1 << 26 })
  if (r.status !== 0) return undefined
  const bs = Number(/^Block size:\s+(\d+)/m.exec(r.stdout)?.[1])
  const count = Number(/^Block count:\s+(\d+)/m.exec(r.stdout)?.[1])
  if (!(bs > 0 && count > 0) || count * bs > 64 * MIB) return undefined
  const free = new Uint8Array(count)
  for (const m of r.stdout.matchAll(/^\s+Free blocks: (.*)$/gm)) {
    for (const range of m[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [a, b] = range.split('-').map(Number) as [number, number?]
      for (let x = a; x <= (b ?? a) && x < count; x++) free[x] = 1
    }
  }
  const used = new Set<number>()
  for (let b = 0; b < count; b++) if (!free[b]) sectors(used, b * bs, (b + 1) * bs)
  return used
}

// A card with one partition at 1 MiB holding an ext filesystem made by mkfs with `opts`.
function extCard(dir: string, opts: string, mib: number): Fixture {
  const content = path.join(dir, 'content')
  mkdirSync(path.join(content, 'sub'), { recursive: true })
  for (let i = 0; i < 4; i++)
    writeFileSync(
      path.join(content, i ? `sub/f${i}.bin` : 'f0.bin'),
      mixedContent(Math.floor((mib * MIB) / 10), 30 + i),
    )
  const file = path.join(dir, 'card.img')
  sh(`head -c ${mib + 1}M /dev/urandom > '${file}'`)
  sh(`sfdisk -q --no-reread --no-tell-kernel '${file}'`, { input: `label: dos\nstart=2048, type=83\n` })
  sh(`mkfs.ext4 -q -F ${opts} -E offset=${MIB},nodiscard -d '${content}' '${file}' ${mib}M 2>/dev/null`)
  const card = readFileSync(file)
  const part = card.subarray(MIB)
  writeFileSync(path.join(dir, 'part.img'), part)
  const inUse = dumpe2fsInUse(path.join(dir, 'part.img'))!
  const g = parseExtSuperblock(part.subarray(1024, 2048), part.length)!.geometry!
  const gdt = (g.firstDataBlock + 1) * g.blockSize
  const fields: Array<readonly [number, 1 | 2 | 4]> = (
    [
      [0x0, 4],
      [0x4, 4],
      [0xc, 4],
      [0x14, 4],
      [0x18, 4],
      [0x20, 4],
      [0x28, 4],
      [0x3a, 2],
      [0x4c, 4],
      [0x58, 2],
      [0x5c, 4],
      [0x60, 4],
      [0x64, 4],
      [0xce, 2],
      [0xfe, 2],
      [0x150, 4],
      [0x194, 4],
      [0x24c, 4],
    ] as const
  ).map(([o, n]) => [1024 + o, n] as const)
  const meta: Array<readonly [number, number]> = [
    [1024, 2048],
    [gdt, gdt + g.groups * g.descSize],
  ]
  for (let i = 0; i < g.groups; i++) {
    const d = gdt + i * g.descSize
    for (const [o, n] of [
      [0, 4],
      [4, 4],
      [8, 4],
      [0xc, 2],
      [0x12, 2],
      [0x18, 2],
      [0x1e, 2],
    ] as const)
      fields.push([d + o, n])
    const bitmap = part.readUInt32LE(d) * g.blockSize
    meta.push([bitmap, bitmap + g.blockSize])
  }
  const reseal =
    g.csum === 'none'
      ? undefined
      : (p: Buffer) => {
          const sb = p.subarray(1024, 2048)
          if (g.csum === 'crc32c') sb.writeUInt32LE(superblockChecksum(sb), 0x3fc)
          for (let i = 0; i < g.groups; i++) {
            const d = p.subarray(gdt + i * g.descSize, gdt + (i + 1) * g.descSize)
            d.writeUInt16LE(descriptorChecksum(g, i, d), 0x1e)
          }
        }
  const toolInUse = (p: Buffer, d: string) => {
    writeFileSync(path.join(d, 'mutant.img'), p)
    return dumpe2fsInUse(path.join(d, 'mutant.img'))
  }
  return { card, sizeOfPart: part.length, inUse, fields, meta, ...(reseal ? { reseal } : {}), toolInUse }
}

// A card with one FAT partition at 1 MiB; in use: its reserved sectors, FATs and
// root directory, and every sector where a file's bytes lie (found by searching).
function fatCard(dir: string, opts: string, mib: number): Fixture {
  const file = path.join(dir, 'card.img')
  sh(`head -c ${mib + 1}M /dev/urandom > '${file}'`)
  sh(`sfdisk -q --no-reread --no-tell-kernel '${file}'`, { input: `label: dos\nstart=2048, type=c\n` })
  sh(`mkfs.vfat ${opts} --offset=2048 '${file}' $((${mib} * 1024)) >/dev/null`)
  const files: Buffer[] = []
  for (let i = 0; i < 3; i++) {
    const f = path.join(dir, `f${i}.bin`)
    files.push(mixedContent(Math.floor((mib * MIB) / 8) + i * 777, 50 + i))
    writeFileSync(f, files[i]!)
    sh(`MTOOLS_SKIP_CHECK=1 mcopy -i '${file}@@${MIB}' '${f}' ::/f${i}.bin`)
  }
  const card = readFileSync(file)
  const part = card.subarray(MIB)
  const bps = part.readUInt16LE(11)
  const fatSectors = part.readUInt16LE(22) || part.readUInt32LE(36)
  const dataOffset =
    (part.readUInt16LE(14) + part[16]! * fatSectors + Math.ceil((part.readUInt16LE(17) * 32) / bps)) * bps
  const inUse = new Set<number>()
  sectors(inUse, 0, dataOffset)
  for (const data of files) {
    let from = dataOffset
    for (let at = 0; at < data.length; at += SECTOR) {
      const piece = data.subarray(at, Math.min(at + SECTOR, data.length))
      // Most pieces follow the one before: search from there first.
      const near = part.indexOf(piece, from)
      const found = near >= 0 ? near : part.indexOf(piece, dataOffset)
      from = found + piece.length
      if (found < 0) throw new Error('file content not found on the card')
      sectors(inUse, found, found + piece.length)
    }
  }
  const bpb = [
    [11, 2],
    [13, 1],
    [14, 2],
    [16, 1],
    [17, 2],
    [19, 2],
    [21, 1],
    [22, 2],
    [32, 4],
    [36, 4],
    [44, 4],
    [50, 2],
  ] as const
  const fields = bpb.map(([o, n]) => [o, n] as const)
  const fatBytes = fatSectors * bps
  const fat = part.readUInt16LE(14) * bps
  return {
    card,
    sizeOfPart: part.length,
    inUse,
    fields,
    meta: [
      [0, 512],
      [fat, fat + Math.min(fatBytes, 8192)],
      [fat + fatBytes, fat + fatBytes + Math.min(fatBytes, 8192)],
    ],
  }
}

// One mutation of the partition: a field set, flipped or nudged, or random bytes in its metadata.
function mutate(part: Buffer, f: Fixture, next: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!
  const kind = Math.floor(next() * 4)
  if (kind === 3) {
    const [a, b] = pick(f.meta)
    const at = a + Math.floor(next() * (b - a))
    const n = 1 + Math.floor(next() * 8)
    for (let i = 0; i < n && at + i < part.length; i++) part[at + i] = Math.floor(next() * 256)
    return `${n} random bytes at ${at}`
  }
  const [at, n] = pick(f.fields)
  const read = () => (n === 1 ? part[at]! : n === 2 ? part.readUInt16LE(at) : part.readUInt32LE(at))
  const write = (v: number) =>
    n === 1 ? (part[at] = v & 0xff) : n === 2 ? part.writeUInt16LE(v & 0xffff, at) : part.writeUInt32LE(v >>> 0, at)
  const before = read()
  if (kind === 0) write(Math.floor(next() * 2 ** (8 * n)))
  else if (kind === 1) write(before ^ (1 << Math.floor(next() * 8 * n)))
  else write(pick([0, 1, before + 1, before - 1, 2 ** (8 * n) - 1]))
  return `field at ${at} (${n} bytes): ${before} → ${read()}`
}

const fixtures: Array<[string, (dir: string) => Fixture]> = [
  ['ext2, 1 KiB blocks', (d) => extCard(d, '-t ext2 -b 1024 -g 2048', 12)],
  ['ext4, metadata_csum, flex_bg', (d) => extCard(d, '-b 4096 -g 1024', 24)],
  [
    'ext4, uninit_bg (crc16), no flex_bg',
    (d) => extCard(d, '-b 4096 -g 1024 -O ^metadata_csum,uninit_bg,^flex_bg', 24),
  ],
  ['FAT16', (d) => fatCard(d, '-F 16', 16)],
  ['FAT32', (d) => fatCard(d, '-F 32 -s 1', 40)],
]

for (const [name, build] of fixtures) {
  test(`corrupt cards: ${name}: read whole, or every block in use is read`, async (t) => {
    const dir = tmp(t)
    const f = build(dir)
    const seed = Number(process.env.SDB_SEED ?? 0x5d_b0) + name.length
    const next = rng(seed)
    let whole = 0
    let checkedWithTool = 0
    const failures: string[] = []
    for (let i = 0; i < MUTATIONS && failures.length < 3; i++) {
      const card = Buffer.from(f.card)
      const part = card.subarray(MIB)
      const what = mutate(part, f, next)
      if (f.reseal && next() < 0.5) f.reseal(part)
      let plan
      try {
        plan = await planReads(memReader(card))
      } catch (err) {
        failures.push(`#${i} ${what}: planReads threw ${(err as Error).stack}`)
        continue
      }
      const covered = new Set<number>()
      const notes: string[] = []
      try {
        for await (const e of plan.extents())
          if (e.end > MIB) sectors(covered, Math.max(e.start, MIB) - MIB, e.end - MIB)
      } catch (err) {
        failures.push(`#${i} ${what}: the walk threw ${(err as Error).stack}`)
        continue
      }
      const report = plan.partitions[0]
      if (plan.scheme === 'none' || report?.method === 'whole') whole++
      notes.push(...(report?.notes ?? []))
      const tool = f.toolInUse && i % 3 === 0 && report?.method === 'used' ? f.toolInUse(part, dir) : undefined
      if (tool) checkedWithTool++
      for (const [label, set] of [
        ['the pristine card', f.inUse],
        ['the mutant, by its own tool', tool ?? new Set<number>()],
      ] as const) {
        const missing = [...set].filter((s) => s < f.sizeOfPart / SECTOR && !covered.has(s))
        if (missing.length)
          failures.push(
            `#${i} ${what}: ${missing.length} sectors in use on ${label} not read (first: ${missing[0]}); plan: ${report?.method} ${report?.reason ?? ''} ${notes.join('; ')}`,
          )
      }
    }
    t.same(
      failures,
      [],
      `${MUTATIONS} mutations (seed ${seed}): ${whole} read whole, ${checkedWithTool} also checked against the tool on the mutant`,
    )
    t.ok(whole < MUTATIONS, 'not everything is read whole: the map is still used where the metadata holds')
  })
}
