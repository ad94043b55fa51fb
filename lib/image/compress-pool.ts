import { ChunkCompressor } from '../codec/chunk-compressor.js'
import type { WorkerReply, WorkerRequest } from './compress-protocol.js'
import type { RawChunk } from './read-source.js'
import { siblingScript, WorkerPool } from '../workers/worker-pool.js'
import { type Codec } from '../codec/registry.js'

// A chunk after compression, still carrying the raw memory to give back to the pool.
export interface DoneChunk {
  readonly index: number
  readonly offset: number
  readonly rawLength: number
  /** Raw deflate or a zstd frame: in a pooled body buffer, or for zeros the cached payload (shared: never released). */
  readonly body: Buffer
  readonly crc32: number
  /** SHA-256 of the raw chunk, computed on the thread that compressed it (or cached for zeros). */
  readonly sha256: string
  readonly zero: boolean
  /** `body` is a pooled buffer, to be released once written (not the cached zero payload). */
  readonly pooled: boolean
  readonly raw: Buffer
}

export interface PoolOptions {
  readonly workers: number
  readonly codec: Codec
  readonly level: number
  /** Test-only fault injection: the worker that gets this chunk dies. */
  readonly crashOnChunk?: number
  readonly crashMode?: 'throw' | 'exit' | 'reply'
}

// The compression threads: a WorkerPool speaking compress-protocol. A dead worker
// fails the job with WorkerCrashedError (see lib/workers/worker-pool.ts).
export class CompressPool {
  private readonly pool: WorkerPool<WorkerRequest, WorkerReply>
  private readonly zeroMembers: ChunkCompressor

  constructor(readonly options: PoolOptions) {
    const { workers, ...data } = options
    this.zeroMembers = new ChunkCompressor(options.codec, options.level)
    this.pool = new WorkerPool(siblingScript(import.meta.url, 'compress-worker'), workers, data, 'compression')
  }

  // Sends a chunk and a body buffer (bodyBound bytes) to the least busy worker; their
  // memory is transferred, not copied.
  async compress(chunk: RawChunk, body: Buffer): Promise<DoneChunk> {
    const { index, offset } = chunk
    const length = chunk.data.length // recorded before the transfer detaches the chunk's memory
    const raw = chunk.data.buffer as ArrayBuffer
    const out = body.buffer as ArrayBuffer
    const reply = await this.pool.run(
      (id) => ({ op: 'compress', id, index, raw, length, out }),
      [raw, out],
      `chunk ${index}`,
    )
    return {
      index,
      offset,
      rawLength: length,
      body: Buffer.from(reply.body, 0, reply.bodyLength),
      crc32: reply.crc32,
      sha256: reply.sha256,
      zero: reply.zero,
      pooled: true,
      raw: Buffer.from(reply.raw),
    }
  }

  // A chunk of free space: its cached member, made on this thread once per length.
  async zeros(chunk: RawChunk): Promise<DoneChunk> {
    const out = await this.zeroMembers.zeros(chunk.data.length)
    return {
      index: chunk.index,
      offset: chunk.offset,
      rawLength: chunk.data.length,
      body: out.body,
      crc32: out.crc32,
      sha256: out.sha256,
      zero: true,
      pooled: false,
      raw: chunk.data,
    }
  }

  // Stops every thread; safe to call twice and after a failure.
  close(): Promise<void> {
    return this.pool.close()
  }
}
