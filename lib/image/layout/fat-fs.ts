import type { ByteReader } from './byte-reader.js'
import type { Extent } from './extent.js'
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
  readonly fatBytes: number
  readonly dataOffset: number
  readonly clusters: number
  readonly totalBytes: number
}

// Parses a FAT boot sector; undefined when it is not one (the cluster count decides
// FAT12/16/32, as the specification says, not the label).
export function parseFatBootSector(b: Buffer): FatGeometry | undefined {
  if (b.readUInt16LE(510) !== 0xaa55 || (b[0] !== 0xeb && b[0] !== 0xe9)) return undefined
  const bps = b.readUInt16LE(11)
  const spc = b[13]!
  const reserved = b.readUInt16LE(14)
  const fats = b[16]!
  const rootEntries = b.readUInt16LE(17)
  const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36)
  const totalSectors = b.readUInt16LE(19) || b.readUInt32LE(32)
  if (![512, 1024, 2048, 4096].includes(bps) || spc === 0 || (spc & (spc - 1)) !== 0 || reserved === 0 || fats === 0 || fatSectors === 0) return undefined
  const rootSectors = Math.ceil((rootEntries * 32) / bps)
  const dataSector = reserved + fats * fatSectors + rootSectors
  if (totalSectors <= dataSector) return undefined
  const clusters = Math.floor((totalSectors - dataSector) / spc)
  return {
    type: clusters < 4085 ? 'FAT12' : clusters < 65525 ? 'FAT16' : 'FAT32',
    bytesPerSector: bps,
    clusterBytes: spc * bps,
    fatOffset: reserved * bps,
    fatBytes: fatSectors * bps,
    dataOffset: dataSector * bps,
    clusters,
    totalBytes: totalSectors * bps,
  }
}

// The FAT entry of cluster n: 12, 16 or 28 significant bits; 0 means free.
export function fatEntry(fat: Buffer, type: FatGeometry['type'], n: number): number {
  if (type === 'FAT32') return fat.readUInt32LE(n * 4) & 0x0fffffff
  if (type === 'FAT16') return fat.readUInt16LE(n * 2)
  const v = fat.readUInt16LE(Math.floor((n * 3) / 2))
  return n & 1 ? v >> 4 : v & 0xfff
}

// FAT12/16/32 boot partitions: the reserved sectors, every FAT copy and the root
// directory always; of the data area only clusters the first FAT marks in use.
export async function probeFat(part: ByteReader): Promise<FsProbe | undefined> {
  if (part.size < 512) return undefined
  const g = parseFatBootSector(await part.read(0, 512))
  if (!g) return undefined
  const fs = `vfat (${g.type})`
  if (g.totalBytes > part.size) return { fs, whole: `the filesystem (${g.totalBytes} bytes) is larger than its partition (${part.size})` }
  const entryBits = { FAT12: 12, FAT16: 16, FAT32: 32 }[g.type]
  if (g.fatBytes > MAX_FAT_BYTES || Math.ceil(((g.clusters + 2) * entryBits) / 8) > g.fatBytes) return { fs, whole: 'the FAT is too large to map or too small for its clusters' }
  // Counted now for the progress estimate; read again just before use (boot partitions are small).
  const inUse = usedClusters(await part.read(g.fatOffset, g.fatBytes), g)
  return {
    fs,
    bytes: g.totalBytes,
    estimatedUsed: g.dataOffset + inUse * g.clusterBytes + (g.totalBytes - g.dataOffset - g.clusters * g.clusterBytes),
    async *used(): AsyncGenerator<Extent> {
      yield { start: 0, end: g.dataOffset }
      const fat = await part.read(g.fatOffset, g.fatBytes)
      let runStart = -1
      for (let c = 2; c < g.clusters + 2; c++) {
        const used = fatEntry(fat, g.type, c) !== 0
        if (used && runStart < 0) runStart = c
        if (!used && runStart >= 0) {
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

function usedClusters(fat: Buffer, g: FatGeometry): number {
  let n = 0
  for (let c = 2; c < g.clusters + 2; c++) if (fatEntry(fat, g.type, c) !== 0) n++
  return n
}

function cluster(g: FatGeometry, from: number, to: number): Extent {
  return { start: g.dataOffset + (from - 2) * g.clusterBytes, end: g.dataOffset + (to - 2) * g.clusterBytes }
}
