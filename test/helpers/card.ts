import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import type { Test } from 'tap'
import path from 'node:path'
import { listTree, mixedContent, sh } from './image.js'

// A partition of a fixture card: a filesystem made with the real mkfs tools, or
// raw bytes ('raw': a partition no parser understands).
export interface PartSpec {
  readonly fs: 'ext2' | 'ext3' | 'ext4' | 'vfat' | 'raw'
  readonly mib: number
  /** Extra mkfs arguments, e.g. ['-O', '^64bit'] or ['-b', '1024']. */
  readonly mkfs?: readonly string[]
  /** MBR only: put this partition inside the extended partition. */
  readonly logical?: boolean
  /** MiB of generated files (35% of the partition when absent). */
  readonly dataMib?: number
  /** More files: path below the root → content. */
  readonly files?: Readonly<Record<string, string>>
}

export interface CardSpec {
  readonly label: 'dos' | 'gpt'
  readonly parts: readonly PartSpec[]
  /** Unpartitioned MiB after the last partition (stale data). */
  readonly tailMib?: number
  readonly seed?: number
}

export interface BuiltPart extends PartSpec {
  readonly start: number
  readonly size: number
  /** The files the filesystem holds after the deletions, as a directory to compare with. */
  readonly content: string
}

export interface BuiltCard {
  readonly file: string
  readonly size: number
  readonly parts: readonly BuiltPart[]
}

const MIB = 2 ** 20

// Files to put in a filesystem: text, mixed and incompressible ones, a subdirectory,
// and two files ('deleted-*') that are removed again to leave stale data behind.
function makeContent(dir: string, budget: number, seed: number): void {
  mkdirSync(path.join(dir, 'etc', 'birdnet'), { recursive: true })
  writeFileSync(
    path.join(dir, 'etc', 'birdnet', 'birdnet.conf'),
    'LATITUDE=52.1\nLONGITUDE=5.2\nCONFIDENCE=0.7\n'.repeat(50),
  )
  for (let i = 0; i < 3; i++)
    writeFileSync(path.join(dir, `recording-${i}.wav`), mixedContent(Math.floor((budget * MIB) / 4), seed * 10 + i))
  writeFileSync(path.join(dir, 'deleted-1.bin'), mixedContent(Math.floor((budget * MIB) / 4), seed * 10 + 7))
  writeFileSync(path.join(dir, 'deleted-2.txt'), 'stale line that must not come back\n'.repeat(2000))
}

// Builds a card image without root: stale pseudo-random bytes everywhere, a table
// written by sfdisk, each filesystem made by mkfs at its offset and filled, then
// two files deleted (debugfs rm / mdel) so their blocks hold stale data.
export function buildCard(dir: string, spec: CardSpec): BuiltCard {
  const file = path.join(dir, 'card.img')
  const align = 1 // MiB
  let at = align
  const layout: Array<{ start: number; size: number; spec: PartSpec }> = []
  let extended: { start: number; size: number } | undefined
  for (const p of spec.parts) {
    if (p.logical && !extended) {
      extended = { start: at, size: 0 }
      at += 1 // room for the first EBR
    }
    layout.push({ start: at, size: p.mib, spec: p })
    at += p.mib + (p.logical ? 1 : 0) // logical partitions: one MiB for the next EBR
    if (extended) extended.size = at - extended.start
  }
  const total = at + (spec.tailMib ?? 1) + (spec.label === 'gpt' ? 1 : 0)
  sh(`head -c ${total * MIB} /dev/urandom > '${file}'`)
  const line = (l: { start: number; size: number }, type: string) =>
    `start=${l.start * 2048}, size=${l.size * 2048}, type=${type}`
  const typeOf = (p: PartSpec) =>
    spec.label === 'gpt'
      ? p.fs === 'vfat'
        ? 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7'
        : '0FC63DAF-8483-4772-8E47-3D69D8477DE4'
      : p.fs === 'vfat'
        ? 'c'
        : '83'
  const lines: string[] = []
  for (const l of layout.filter((x) => !x.spec.logical)) lines.push(line(l, typeOf(l.spec)))
  if (extended) lines.push(line(extended, '5'))
  for (const l of layout.filter((x) => x.spec.logical)) lines.push(line(l, typeOf(l.spec)))
  sh(`sfdisk -q --no-reread --no-tell-kernel '${file}'`, {
    input: `label: ${spec.label}\nunit: sectors\n\n${lines.join('\n')}\n`,
  })
  const parts = layout.map(({ start, size, spec: p }, i) => {
    const content = path.join(dir, `content-${i}`)
    const offset = start * MIB
    mkdirSync(content, { recursive: true })
    if (p.fs !== 'raw')
      makeContent(content, p.dataMib ?? Math.max(1, Math.floor(size * 0.35)), (spec.seed ?? 1) * 100 + i)
    for (const [f, text] of Object.entries(p.files ?? {})) {
      mkdirSync(path.dirname(path.join(content, f)), { recursive: true })
      writeFileSync(path.join(content, f), text)
    }
    if (p.fs === 'vfat') {
      sh(`mkfs.vfat ${(p.mkfs ?? []).join(' ')} --offset ${offset / 512} '${file}' ${size * 1024} >/dev/null`)
      sh(
        `MTOOLS_SKIP_CHECK=1 mcopy -s -i '${file}@@${offset}' '${content}'/* ::/ && MTOOLS_SKIP_CHECK=1 mdel -i '${file}@@${offset}' ::/deleted-1.bin ::/deleted-2.txt`,
      )
    } else if (p.fs !== 'raw') {
      sh(
        `mkfs.${p.fs} -q -F ${(p.mkfs ?? []).join(' ')} -E offset=${offset},nodiscard -d '${content}' '${file}' ${size}M 2>&1`,
      )
      // debugfs has no offset option: edit a copy of the partition, then put it back.
      const copy = path.join(dir, `part-${i}.img`)
      sh(`dd if='${file}' of='${copy}' bs=1M skip=${start} count=${size} status=none`)
      sh(`debugfs -w -R 'rm /deleted-1.bin' '${copy}' && debugfs -w -R 'rm /deleted-2.txt' '${copy}'`)
      sh(`dd if='${copy}' of='${file}' bs=1M seek=${start} conv=notrunc status=none && rm '${copy}'`)
    }
    sh(`rm -f '${content}/deleted-1.bin' '${content}/deleted-2.txt'`)
    return { ...p, start: offset, size: size * MIB, content }
  })
  return { file, size: total * MIB, parts }
}

// Copies one partition of an image out to its own file (for e2fsck and debugfs).
export function extractPart(image: string, part: { start: number; size: number }, out: string): string {
  sh(`dd if='${image}' of='${out}' bs=1M skip=${part.start / MIB} count=${part.size / MIB} status=none`)
  return out
}

// The files of a partition of an image, dumped into `out` (debugfs rdump or mcopy).
export function dumpFiles(image: string, part: BuiltPart, out: string): string {
  mkdirSync(out, { recursive: true })
  if (part.fs === 'vfat') sh(`MTOOLS_SKIP_CHECK=1 mcopy -s -n -i '${image}@@${part.start}' '::/*' '${out}/'`)
  else {
    const copy = extractPart(image, part, `${out}.part`)
    sh(`debugfs -R 'rdump / ${out}' '${copy}' 2>/dev/null && rm -rf '${out}/lost+found' '${copy}'`)
  }
  return out
}

// SHA-256 of bytes [start, end) of a file.
export async function rangeSha(file: string, start: number, end: number): Promise<string> {
  const h = createHash('sha256')
  if (end > start) for await (const b of createReadStream(file, { start, end: end - 1 })) h.update(b as Buffer)
  return h.digest('hex')
}

// Every file below dir with its SHA-256.
export function treeDigest(dir: string): Record<string, string> {
  return Object.fromEntries(
    listTree(dir).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(path.join(dir, f)))
        .digest('hex'),
    ]),
  )
}

// After a mapped-only write (bmaptool copy, restore --bmap) over random bytes, free blocks hold garbage: the filesystems
// must still be clean with equal files; outside them the bytes are equal.
export async function checkMapped(t: Test, card: BuiltCard, target: string, dir: string, label: string): Promise<void> {
  const bdir = path.join(dir, label.replace(/\W+/g, '-'))
  sh(`mkdir -p '${bdir}'`)
  let at = 0
  for (const [i, p] of card.parts.entries()) {
    t.equal(
      await rangeSha(target, at, p.start),
      await rangeSha(card.file, at, p.start),
      `${label}: bytes before partition ${i + 1} equal`,
    )
    at = p.start + p.size
    if (p.fs === 'raw') continue
    const part = extractPart(target, p, path.join(bdir, `check-${i}.img`))
    t.doesNotThrow(
      () => sh(`${p.fs === 'vfat' ? 'fsck.vfat -n' : 'e2fsck -fn'} '${part}' >/dev/null 2>&1`),
      `${label}: partition ${i + 1} (${p.fs}) is clean`,
    )
    t.same(
      treeDigest(dumpFiles(target, p, path.join(bdir, `files-${i}`))),
      treeDigest(p.content),
      `${label}: partition ${i + 1} files equal`,
    )
  }
}
