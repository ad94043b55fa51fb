import type { ByteReader } from './byte-reader.js'
import type { Extent } from '../../util/extent.js'
import type { FsProbe } from './fs-probe.js'

// The largest FAT read into memory; a bigger one (a FAT32 of hundreds of GB) is
// not a boot partition, and reading it whole is the simpler safe choice.
const MAX_FAT_BYTES = 64 * 2 ** 20

// The BIOS parameter block fields that locate the FAT and the data area.
export interface FatGeometry {
  readonly type: 'FAT12' | 'FAT16' | 'FAT32'
  readonly bytesPerSector: number
  readonly clusterBytes: number
  readonly fatOffset: number
  /** Bytes of one FAT copy. */
  readonly fatBytes: number
  readonly fats: number
  readonly dataOffset: number
  readonly clusters: number
  readonly totalBytes: number
  /** FAT32: the root directory's first cluster, and the backup boot sector (0: none). */
  readonly rootCluster?: number
  readonly backupBoot?: number
}

// Entry 0 of a FAT is the media byte with every higher bit set.
const ENTRY0 = { FAT12: 0xf00, FAT16: 0xff00, FAT32: 0x0fffff00 } as const

// Linux's largest cluster counts (fs/fat: MAX_FAT12, MAX_FAT16, MAX_FAT32).
const MAX_CLUSTERS = { FAT12: 0xff4, FAT16: 0xfff4, FAT32: 0x0ffffff6 } as const

export type FatBoot = FatGeometry | { readonly whole: string; readonly type: FatGeometry['type'] }

// Parses a FAT boot sector; undefined when it is not one. FAT32 is decided as Linux
// and fsck.fat decide it (a 16-bit FAT size of 0), FAT12 against FAT16 by the
// cluster count. Sizes and counts that disagree give `whole` with the reason.
export function parseFatBootSector(b: Buffer): FatBoot | undefined {
  if (b.readUInt16LE(510) !== 0xaa55 || (b[0] !== 0xeb && b[0] !== 0xe9)) return undefined
  const bps = b.readUInt16LE(11)
  const spc = b[13]!
  const reserved = b.readUInt16LE(14)
  const fats = b[16]!
  const rootEntries = b.readUInt16LE(17)
  const fatSz16 = b.readUInt16LE(22)
  const fatSectors = fatSz16 || b.readUInt32LE(36)
  const totalSectors = b.readUInt16LE(19) || b.readUInt32LE(32)
  if (
    ![512, 1024, 2048, 4096].includes(bps) ||
    spc === 0 ||
    (spc & (spc - 1)) !== 0 ||
    reserved === 0 ||
    fats === 0 ||
    fatSectors === 0
  )
    return undefined
  const rootSectors = Math.ceil((rootEntries * 32) / bps)
  const dataSector = reserved + fats * fatSectors + rootSectors
  if (totalSectors <= dataSector) return undefined
  const clusters = Math.floor((totalSectors - dataSector) / spc)
  const type: FatGeometry['type'] = fatSz16 === 0 ? 'FAT32' : clusters <= MAX_CLUSTERS.FAT12 ? 'FAT12' : 'FAT16'
  const whole = (reason: string) => ({ type, whole: reason })
  if (fats > 4) return whole(`${fats} FAT copies`)
  if (b[21] !== 0xf0 && b[21]! < 0xf8) return whole(`media byte 0x${b[21]!.toString(16)} is not valid`)
  if (clusters > MAX_CLUSTERS[type]) return whole(`${clusters} clusters are more than ${type} can address`)
  if (type === 'FAT32') {
    const root = b.readUInt32LE(44)
    if (rootEntries !== 0 || root < 2 || root >= clusters + 2)
      return whole('the FAT32 root directory fields are not valid')
  } else if (rootEntries === 0 || rootEntries % (bps / 32) !== 0)
    return whole(`${rootEntries} root directory entries do not fill whole sectors (Linux refuses them)`)
  return {
    type,
    bytesPerSector: bps,
    clusterBytes: spc * bps,
    fatOffset: reserved * bps,
    fatBytes: fatSectors * bps,
    fats,
    dataOffset: dataSector * bps,
    clusters,
    totalBytes: totalSectors * bps,
    ...(type === 'FAT32'
      ? { rootCluster: b.readUInt32LE(44), backupBoot: b.readUInt16LE(50) < reserved ? b.readUInt16LE(50) : 0 }
      : {}),
  }
}

// The FAT entry of cluster n: 12, 16 or 28 significant bits; 0 means free.
export function fatEntry(fat: Buffer, type: FatGeometry['type'], n: number): number {
  if (type === 'FAT32') return fat.readUInt32LE(n * 4) & 0x0fffffff
  if (type === 'FAT16') return fat.readUInt16LE(n * 2)
  const v = fat.readUInt16LE(Math.floor((n * 3) / 2))
  return n & 1 ? v >> 4 : v & 0xfff
}

// The BPB fields a backup boot sector must repeat (FAT32: bytes per sector up to
// the root cluster and FSInfo): a mismatch means one of them is damaged.
const BPB = [11, 0x34] as const

// FAT12/16/32 boot partitions: the reserved sectors, every FAT copy and the root
// directory always; of the data area the clusters that any FAT copy marks in use
// (a damaged first FAT loses nothing the second one still holds).
export async function probeFat(part: ByteReader): Promise<FsProbe | undefined> {
  if (part.size < 512) return undefined
  const boot = await part.read(0, 512)
  const g = parseFatBootSector(boot)
  if (!g) return undefined
  const fs = `vfat (${g.type})`
  if ('whole' in g) return { fs, whole: g.whole }
  if (g.totalBytes > part.size)
    return { fs, whole: `the filesystem (${g.totalBytes} bytes) is larger than its partition (${part.size})` }
  const entryBits = { FAT12: 12, FAT16: 16, FAT32: 32 }[g.type]
  const needed = Math.ceil(((g.clusters + 2) * entryBits) / 8)
  if (g.fatBytes > MAX_FAT_BYTES || needed > g.fatBytes)
    return { fs, whole: 'the FAT is too large to map or too small for its clusters' }
  // mkfs sizes the FAT for its clusters: one far larger means the sizes disagree
  // (and FAT12 against FAT16 may be misread).
  if (g.fatBytes - needed > Math.max(needed, 2 * g.bytesPerSector))
    return { fs, whole: `the FAT (${g.fatBytes} bytes) is far larger than its ${g.clusters} clusters need (${needed})` }
  if (g.backupBoot) {
    const copy = await part.read(g.backupBoot * g.bytesPerSector, 512)
    if (!copy.subarray(...BPB).equals(boot.subarray(...BPB)))
      return { fs, whole: `the backup boot sector (sector ${g.backupBoot}) disagrees with the boot sector` }
  }
  const placement = await fatPlacementDoubt(part, g, boot[21]!)
  if (placement) return { fs, whole: placement }
  // Counted now for the progress estimate; read again just before use (boot partitions are small).
  const { inUse } = await usedClusters(part, g)
  return {
    fs,
    bytes: g.totalBytes,
    estimatedUsed: g.dataOffset + inUse * g.clusterBytes + (g.totalBytes - g.dataOffset - g.clusters * g.clusterBytes),
    async *used(note): AsyncGenerator<Extent> {
      yield { start: 0, end: g.dataOffset }
      const { used, differ } = await usedClusters(part, g)
      if (differ) note?.(`the FAT copies differ in ${differ} clusters: reading every cluster any copy marks in use`)
      let runStart = -1
      for (let c = 2; c < g.clusters + 2; c++) {
        if (used[c] && runStart < 0) runStart = c
        if (!used[c] && runStart >= 0) {
          yield cluster(g, runStart, c)
          runStart = -1
        }
      }
      if (runStart >= 0) yield cluster(g, runStart, g.clusters + 2)
      // Sectors after the last whole cluster belong to no cluster: read them as they are.
      const slack = g.dataOffset + g.clusters * g.clusterBytes
      if (slack < g.totalBytes) yield { start: slack, end: g.totalBytes }
    },
  }
}

// Whether the FATs are where the boot sector says: each copy must begin with the
// media byte (entry 0, as fsck.fat checks), and no further copy may follow the
// counted ones. A wrong reserved-sector or FAT count would shift every cluster.
async function fatPlacementDoubt(part: ByteReader, g: FatGeometry, media: number): Promise<string | undefined> {
  const head = async (copy: number) => part.read(g.fatOffset + copy * g.fatBytes, 4)
  const first = await head(0)
  for (let copy = 0; copy < g.fats; copy++) {
    const h = copy === 0 ? first : await head(copy)
    if (fatEntry(h, g.type, 0) !== ENTRY0[g.type] + media)
      return (
        `FAT copy ${copy + 1} does not begin with the media byte (0x${media.toString(16)}): the FATs are ` +
        `not where the boot sector puts them`
      )
  }
  const after = g.fatOffset + g.fats * g.fatBytes
  if (after + 4 <= g.dataOffset || after + 4 <= g.totalBytes) {
    if ((await part.read(after, 4)).equals(first))
      return `another FAT copy follows the ${g.fats} the boot sector counts`
  }
  return undefined
}

// The clusters any FAT copy marks in use (plus FAT32's root directory), one copy
// in memory at a time; `differ` counts the clusters the copies disagree on.
async function usedClusters(
  part: ByteReader,
  g: FatGeometry,
): Promise<{ used: Uint8Array; inUse: number; differ: number }> {
  const used = new Uint8Array(g.clusters + 2)
  let differ = 0
  for (let copy = 0; copy < g.fats; copy++) {
    const fat = await part.read(g.fatOffset + copy * g.fatBytes, g.fatBytes)
    for (let c = 2; c < g.clusters + 2; c++) {
      const bit = fatEntry(fat, g.type, c) !== 0 ? 1 : 0
      if (copy > 0 && bit !== (used[c]! & 1)) differ++
      used[c]! |= bit
    }
  }
  if (g.rootCluster !== undefined) used[g.rootCluster] = 1
  let inUse = 0
  for (let c = 2; c < g.clusters + 2; c++) inUse += used[c]!
  return { used, inUse, differ }
}

function cluster(g: FatGeometry, from: number, to: number): Extent {
  return { start: g.dataOffset + (from - 2) * g.clusterBytes, end: g.dataOffset + (to - 2) * g.clusterBytes }
}
