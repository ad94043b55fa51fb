import { pipeline } from 'node:stream/promises'
import { BufferPool } from '../workers/buffer-pool.js'
import { bodyBound } from '../codec/chunk-compressor.js'
import { compressInOrder } from './compress-in-order.js'
import { CompressPool, type DoneChunk } from './compress-pool.js'
import { readChunks, type RawChunk, type Source } from './read-source.js'
import { readUsedChunks } from './read-used.js'
import type { Extent } from '../util/extent.js'
import { type Codec, CODECS } from '../codec/registry.js'

export interface CompressSourceOptions {
  readonly chunkSize: number
  readonly workers: number
  readonly codec: Codec
  readonly level: number
  /** Bytes to read from the start of the source (bench/tune samples a card); all by default. */
  readonly limit?: number
  readonly signal?: AbortSignal
  /** Used-block mode: only these bytes are read, the rest of the card becomes zeros. */
  readonly extents?: AsyncIterable<Extent>
  /** Test-only fault injection, passed to the pool. */
  readonly crashOnChunk?: number
  readonly crashMode?: 'throw' | 'exit' | 'reply'
}

// One gzip member or zstd frame, as the pieces to write (header, body, trailer).
export interface Member {
  readonly parts: readonly Uint8Array[]
  readonly length: number
  readonly rawLength: number
  readonly crc32: number
  /** SHA-256 of the raw chunk (hex), from the worker that compressed it. */
  readonly sha256: string
  /** All zeros (free space): its digest follows from its length. */
  readonly zero: boolean
}

export interface CompressHooks {
  /** Sees every raw chunk in order, before its memory goes to a worker. */
  onRead(chunk: RawChunk): void
  /** Writes one member; the next is not handed over before this resolves. */
  write(member: Member): Promise<void>
}

// The image job's engine, shared with bench/tune: read chunks (all, or the used ones
// with `extents`) → compress on workers → members in source order. At most
// 2 x workers data chunks are in memory (free-space chunks hold only their cached
// ~1 KiB member), whatever the source size and however slow `write` is.
// Benchmark before editing (bench/compare.ts).
export async function compressSource(
  source: Source,
  opts: CompressSourceOptions,
  hooks: CompressHooks,
): Promise<{ peakChunksInMemory: number }> {
  const maxInFlight = 2 * opts.workers
  const buffers = new BufferPool(opts.chunkSize, maxInFlight)
  // Bodies are pooled too, never allocated per chunk: a thread that allocates each
  // body and another that frees it fragment glibc's arenas, +35 MiB RSS on
  // incompressible data (bench/RESULTS.md). One more than in flight: the one being written.
  const bodies = new BufferPool(bodyBound(opts.codec, opts.chunkSize), maxInFlight + 1)
  const pool = new CompressPool({
    workers: opts.workers,
    codec: opts.codec,
    level: opts.level,
    crashOnChunk: opts.crashOnChunk,
    crashMode: opts.crashMode,
  })
  const codec = CODECS[opts.codec]
  const size = Math.min(source.size, opts.limit ?? Infinity)
  try {
    await pipeline(
      () =>
        opts.extents
          ? readUsedChunks(source, opts.extents, opts.chunkSize, buffers)
          : readChunks(source, size, opts.chunkSize, buffers),
      (chunks: AsyncIterable<RawChunk>) => compressInOrder(chunks, pool, buffers, bodies, maxInFlight, hooks.onRead),
      async (done: AsyncIterable<DoneChunk>) => {
        for await (const d of done) {
          const parts = codec.frame(opts.level, d.body, d.crc32, d.rawLength)
          await hooks.write({
            parts,
            length: parts.reduce((n, p) => n + p.length, 0),
            rawLength: d.rawLength,
            crc32: d.crc32,
            sha256: d.sha256,
            zero: d.zero,
          })
          if (d.pooled) bodies.release(d.body) // written: its buffer takes the next chunk's body
        }
      },
      { signal: opts.signal },
    )
  } finally {
    await pool.close()
  }
  return { peakChunksInMemory: buffers.peakInUse }
}
