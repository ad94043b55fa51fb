import { createHash } from 'node:crypto'
import { formatBytes } from '../util/size.js'
import { BmapBuilder } from './bmap.js'
import { compressSource } from './compress-source.js'
import { handleReader } from './layout/byte-reader.js'
import { planReads, type PartitionReport, type ReadPlan } from './layout/plan-reads.js'
import type { MemberEntry } from '../dest/image-manifest.js'
import { Progress } from '../log/progress.js'
import type { Source } from './read-source.js'
import type { AtomicFile } from '../dest/write-atomic.js'
import { type ImageJobContext, type ImageJobOptions } from './image-options.js'

// What the one pass over the card produced, for the manifest and the .bmap.
export interface PassResult {
  /** The whole image's SHA-256, when asked for (whole-sha256). */
  readonly sha256: string | undefined
  /** SHA-256 over the members' digests (manifest version 2). */
  readonly root: string
  readonly rawBytes: number
  /** Bytes actually read from the card. */
  readonly readBytes: number
  readonly members: MemberEntry[]
  readonly peakChunksInMemory: number
  /** Used-block mode only: the plan that was followed and the .bmap built alongside. */
  readonly used?: { readonly plan: ReadPlan; readonly bmap: BmapBuilder }
}

// "partition 2 (ext4, 1.8 GiB): read 0.9 GiB in use, 0.9 GiB free written as zeros"
export function partitionLine(r: PartitionReport): string {
  const what = `partition ${r.number} (${r.fs ?? `type ${r.type}`}, ${formatBytes(r.size)})`
  if (r.method === 'whole') return `${what}: read whole, ${formatBytes(r.readBytes)} (${r.reason})`
  const doubts = r.notes?.length ? `; read whole where in doubt: ${r.notes.join('; ')}` : ''
  return (
    `${what}: read ${formatBytes(r.readBytes)} in use, ${formatBytes(r.size - r.readBytes)} free written ` +
    `as zeros${doubts}`
  )
}

// Which bytes to read: every one with --full, else the partition plan; a table
// not understood falls back to the whole card, saying why.
async function choosePlan(source: Source, opts: ImageJobOptions, ctx: ImageJobContext): Promise<ReadPlan | undefined> {
  if (opts.full) {
    ctx.log.info('reading every byte of the card (full = true)')
    return undefined
  }
  const plan = await planReads(handleReader(source), { skipTail: opts.skipTail })
  if (plan.scheme === 'none') {
    ctx.log.warn({ reason: plan.reason }, `partition table not understood (${plan.reason}): reading the whole card`)
    return undefined
  }
  ctx.log.info(
    {
      scheme: plan.scheme,
      partitions: plan.partitions.map(({ readBytes: _, ...p }) => p),
      estimatedReadBytes: plan.estimatedReadBytes,
      minCardBytes: plan.minCardBytes,
    },
    `${plan.scheme.toUpperCase()} with ${plan.partitions.length} partition(s): reading what the filesystems ` +
      `use, about ${formatBytes(plan.estimatedReadBytes)} of ${formatBytes(source.size)}`,
  )
  return plan
}

// The image's single pass: plan → read (only used blocks, unless full) → hash →
// compress on workers → write in order, building the .bmap on the way.
// Benchmark before editing (bench/compare.ts).
export async function imagePass(
  source: Source,
  out: AtomicFile,
  opts: ImageJobOptions,
  ctx: ImageJobContext,
): Promise<PassResult> {
  const plan = await choosePlan(source, opts, ctx)
  const bmap = plan ? new BmapBuilder(source.size) : undefined
  const progress = new Progress(plan?.estimatedReadBytes ?? source.size, {
    tty: ctx.tty,
    log: ctx.log,
    intervalSeconds: opts.progressIntervalSeconds,
  })
  // The whole-image SHA-256 costs a pass over every byte on this thread, zeros
  // included: only on request. Member digests come from the workers.
  const hash = opts.wholeSha256 ? createHash('sha256') : undefined
  const root = createHash('sha256')
  const members: MemberEntry[] = []
  let rawBytes = 0
  let readBytes = 0
  ctx.sink?.setLineOwner(progress)
  progress.start()
  try {
    const { peakChunksInMemory } = await compressSource(
      source,
      {
        ...opts,
        signal: ctx.signal,
        crashOnChunk: ctx.crashOnChunk,
        crashMode: ctx.crashMode,
        extents: plan?.extents((r) => ctx.log.info({ partition: r }, partitionLine(r))),
      },
      {
        onRead(c) {
          hash?.update(c.data)
          rawBytes += c.data.length
          const read = c.mapped ? c.mapped.reduce((n, e) => n + (e.zero ? 0 : e.end - e.start), 0) : c.data.length
          readBytes += read
          progress.addRead(read)
          bmap?.add(c.offset, c.data, c.mapped ?? [])
        },
        async write(m) {
          await ctx.beforeWrite?.(m.length)
          members.push([out.bytesWritten, m.length, m.rawLength, m.crc32, m.zero ? 0 : m.sha256])
          root.update(Buffer.from(m.sha256, 'hex'))
          await out.write(...m.parts)
          progress.addCompressed(m.rawLength, m.length)
        },
      },
    )
    return {
      sha256: hash?.digest('hex'),
      root: root.digest('hex'),
      rawBytes,
      readBytes,
      members,
      peakChunksInMemory,
      ...(plan && bmap ? { used: { plan, bmap } } : {}),
    }
  } finally {
    progress.stop()
    ctx.sink?.setLineOwner(undefined)
  }
}
