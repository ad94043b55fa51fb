import type { ImageManifest, ManifestPartition } from './image-manifest.js'

const MiB = 2 ** 20

// Free space a shrunk root filesystem keeps until it grows back at first boot: room
// for the boot's logs, apt and an hour of recordings. 10% of the data, at least 256 MiB.
export function shrinkMargin(dataBytes: number): number {
  return Math.ceil(Math.max(256 * MiB, dataBytes / 10) / MiB) * MiB
}

// GPT keeps a backup header and entries in the last 33 sectors: a shrunk card ends 1 MiB after its root.
export function tailReserve(scheme: 'mbr' | 'gpt'): number {
  return scheme === 'gpt' ? MiB : 0
}

export const SHRINKABLE_FS: readonly string[] = ['ext2', 'ext3', 'ext4']

// A manifest from the NAS is hostile input: its partition layout is used (for list's
// smallest card, for restore --shrink) only when every field has its type and every
// partition lies, in whole sectors, inside the image. Says what is wrong, if anything.
export function layoutProblem(m: unknown): string | undefined {
  const x = m as Partial<ImageManifest>
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  const parts: unknown = x.layout?.partitions
  if (!num(x.raw?.bytes)) return 'no image size'
  if (!['mbr', 'gpt'].includes(x.layout?.scheme as string)) return 'no partition scheme'
  if (!Array.isArray(parts)) return 'no partition list'
  for (const p of parts as Array<Partial<ManifestPartition> | null>) {
    if (!p || !num(p.number) || !num(p.start) || !num(p.size) || !num(p.readBytes))
      return 'a partition without its number, start, size or bytes read'
    if (p.fs !== null && typeof p.fs !== 'string') return `partition ${p.number}: a filesystem name that is not text`
    if (p.start % 512 || p.size % 512 || p.start + p.size > x.raw!.bytes || p.readBytes > p.size)
      return `partition ${p.number} does not lie, in whole sectors, inside the image`
  }
  return undefined
}

/** The partition restore --shrink resizes: the one that ends last, if it holds ext2/3/4. */
export function rootPartition(m: ImageManifest): ManifestPartition | undefined {
  const parts = m.layout?.partitions ?? []
  const last = parts.reduce<ManifestPartition | undefined>(
    (a, p) => (!a || p.start + p.size > a.start + a.size ? p : a),
    undefined,
  )
  return last && SHRINKABLE_FS.includes(last.fs ?? '') ? last : undefined
}

// The smallest card `restore --shrink` can write this image to, from the manifest: the
// root's start, its data (the blocks the image read), the margin, and GPT's tail.
// undefined when the image cannot be shrunk (no layout, or the last partition is not ext).
export function smallestCard(m: ImageManifest): number | undefined {
  const root = rootPartition(m)
  if (!root || !m.layout) return undefined
  const needed = root.start + root.readBytes + shrinkMargin(root.readBytes) + tailReserve(m.layout.scheme)
  return Math.min(needed, m.raw.bytes)
}
