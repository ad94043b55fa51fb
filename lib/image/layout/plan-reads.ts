import { SourceReadError } from '../../errors.js'
import type { ByteReader } from './byte-reader.js'
import { probeExt } from './ext-fs.js'
import type { Extent } from '../../util/extent.js'
import { probeFat } from './fat-fs.js'
import { partitionReader, type FsProbe } from './fs-probe.js'
import { readPartitionTable, type Partition } from './partition-table.js'

// What was done with one partition, for its log line and the manifest.
export interface PartitionReport {
  readonly number: number
  readonly start: number
  readonly size: number
  readonly type: string
  readonly fs: string | undefined
  readonly method: 'used' | 'whole'
  /** Why the partition was read whole, when it was. */
  readonly reason?: string
  /** Doubts that made parts of it be read whole (a bad bitmap checksum, FAT copies that differ). */
  notes?: string[]
  /** Bytes read from the card; the rest of the partition was written as zeros. */
  readBytes: number
}

// Which bytes of the card to read. `extents()` yields them sorted and merged, in
// card order; everything between them is free space and becomes zeros.
export interface ReadPlan {
  readonly scheme: 'mbr' | 'gpt' | 'none'
  /** Why the table was not used (scheme 'none'): the whole card is read. */
  readonly reason?: string
  /** The end of the last partition: the smallest card this image fits. */
  readonly minCardBytes: number
  /** Bytes expected to be read, from the filesystems' own counts (for progress). */
  readonly estimatedReadBytes: number
  readonly partitions: readonly PartitionReport[]
  extents(onPartitionDone?: (report: PartitionReport) => void): AsyncGenerator<Extent>
}

export interface PlanOptions {
  /** Leave the unpartitioned space after the last partition out (zeros). */
  readonly skipTail?: boolean
}

const GPT_BACKUP_SECTORS = 33

// Doubts kept per partition in the log and manifest; the rest are counted.
const MAX_NOTES = 20

// A parser that fails on metadata it did not foresee reads the partition whole:
// only a failing card read (SourceReadError) stops the image.
async function probe(src: ByteReader, p: Partition): Promise<FsProbe | undefined> {
  const part = partitionReader(src, p.start, p.size)
  try {
    return (await probeExt(part)) ?? (await probeFat(part))
  } catch (err) {
    if (err instanceof SourceReadError) throw err
    return { fs: 'unknown', whole: `its filesystem metadata could not be parsed (${(err as Error).message})` }
  }
}

function addNote(report: PartitionReport, note: string): void {
  const notes = (report.notes ??= [])
  if (notes.length < MAX_NOTES) notes.push(note)
  else if (notes.length === MAX_NOTES) notes.push('further doubts not listed')
}

// Reads the partition table and each partition's superblock or boot sector (not
// yet the bitmaps), and returns the plan. The table, the gaps between partitions,
// partitions holding no filesystem understood here, and the space after the last
// partition are read whole; ext2/3/4 and FAT only where they are in use.
export async function planReads(src: ByteReader, opts: PlanOptions = {}): Promise<ReadPlan> {
  const table = await readPartitionTable(src)
  if (table.scheme === 'none') {
    return {
      scheme: 'none',
      reason: table.reason,
      minCardBytes: src.size,
      estimatedReadBytes: src.size,
      partitions: [],
      extents: async function* () {
        if (src.size > 0) yield { start: 0, end: src.size }
      },
    }
  }
  const probes = await Promise.all(table.partitions.map((p) => probe(src, p)))
  const reports: PartitionReport[] = table.partitions.map((p, i) => {
    const fs = probes[i]
    const whole = fs === undefined ? 'no filesystem understood here' : fs.whole
    return {
      number: p.number,
      start: p.start,
      size: p.size,
      type: p.type,
      fs: fs?.fs,
      method: whole ? 'whole' : 'used',
      ...(whole ? { reason: whole } : {}),
      readBytes: 0,
    }
  })
  const last = table.partitions.reduce((end, p) => Math.max(end, p.start + p.size), 0)
  // With GPT the backup header and entries sit in the last sectors: kept even when the tail is skipped.
  const tailStart = !opts.skipTail
    ? last
    : table.scheme === 'gpt'
      ? Math.max(last, src.size - GPT_BACKUP_SECTORS * table.sectorSize)
      : src.size
  let estimated = src.size - tailStart
  for (const [i, p] of table.partitions.entries()) {
    const fs = probes[i]
    const gapBefore = p.start - (i === 0 ? 0 : table.partitions[i - 1]!.start + table.partitions[i - 1]!.size)
    estimated +=
      gapBefore + (fs && fs.whole === undefined ? Math.min(p.size, fs.estimatedUsed + (p.size - fs.bytes)) : p.size)
  }
  return {
    scheme: table.scheme,
    minCardBytes: last,
    estimatedReadBytes: Math.min(estimated, src.size),
    partitions: reports,
    async *extents(onPartitionDone) {
      let at = 0
      for (const [i, p] of table.partitions.entries()) {
        if (at < p.start) yield { start: at, end: p.start }
        const report = reports[i]!
        const fs = probes[i]
        const end = p.start + p.size
        const count = (e: Extent) => {
          if (!e.zero) report.readBytes += e.end - e.start
          return e
        }
        if (fs && fs.whole === undefined) {
          // Each run is passed on as soon as it is known (not merged with the next):
          // the reader then reads a group's blocks right after its bitmap.
          let fsEnd = p.start + fs.bytes
          let done = p.start
          try {
            for await (const r of fs.used((n) => addNote(report, n))) {
              const start = Math.max(p.start + r.start, done)
              const stop = Math.min(p.start + r.end, fsEnd)
              if (stop <= start) continue
              yield count(r.zero ? { start, end: stop, zero: true } : { start, end: stop })
              done = stop
            }
          } catch (err) {
            if (err instanceof SourceReadError) throw err
            addNote(
              report,
              `the map failed at byte ${done - p.start} (${(err as Error).message}): the rest is read whole`,
            )
            fsEnd = done
          }
          if (fsEnd < end) yield count({ start: Math.max(fsEnd, done), end })
        } else if (p.size > 0) yield count({ start: p.start, end })
        at = end
        onPartitionDone?.(report)
      }
      if (tailStart < src.size) yield { start: tailStart, end: src.size }
    },
  }
}
