import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { WorkerCrashedError } from '../errors.js'
import type { Codec } from './compress-chunk.js'
import type { WorkerReply, WorkerRequest } from './compress-protocol.js'
import type { RawChunk } from './read-source.js'

// A chunk after compression, still carrying the raw memory to give back to the pool.
export interface DoneChunk {
  readonly index: number
  readonly offset: number
  readonly rawLength: number
  /** Raw deflate or a zstd frame, owning its ArrayBuffer (see freeNow). */
  readonly body: Buffer
  readonly crc32: number
  readonly zero: boolean
  readonly raw: Buffer
}

interface Pending {
  readonly index: number
  readonly offset: number
  /** Recorded before the transfer detaches the chunk's memory. */
  readonly length: number
  readonly resolve: (d: DoneChunk) => void
  readonly reject: (e: Error) => void
}

interface Slot {
  readonly worker: Worker
  readonly pending: Map<number, Pending>
}

export interface PoolOptions {
  readonly workers: number
  readonly codec: Codec
  readonly level: number
  /** Test-only fault injection: the worker that gets this chunk dies. */
  readonly crashOnChunk?: number
  readonly crashMode?: 'throw' | 'exit' | 'reply'
}

// The worker script next to this file: .ts under the test loader, .js when built.
const workerUrl = new URL(`./compress-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url)

// A fixed set of compression threads. Any worker that dies fails every chunk in
// flight and every later one with WorkerCrashedError: the job stops, never hangs.
export class CompressPool {
  private readonly slots: Slot[] = []
  private nextId = 0
  private failure: WorkerCrashedError | undefined
  private closing = false

  constructor(readonly options: PoolOptions) {
    for (let i = 0; i < options.workers; i++) this.slots.push(this.spawn(i))
  }

  // Sends a chunk to the least busy worker; its memory is transferred, not copied.
  compress(chunk: RawChunk): Promise<DoneChunk> {
    if (this.failure) return Promise.reject(this.failure)
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
    const id = this.nextId++
    return new Promise<DoneChunk>((resolve, reject) => {
      slot.pending.set(id, { index: chunk.index, offset: chunk.offset, length: chunk.data.length, resolve, reject })
      const raw = chunk.data.buffer as ArrayBuffer
      const req: WorkerRequest = { op: 'compress', id, index: chunk.index, raw, length: chunk.data.length }
      slot.worker.postMessage(req, [raw])
    })
  }

  // Stops every thread; safe to call twice and after a failure.
  async close(): Promise<void> {
    this.closing = true
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }

  private spawn(n: number): Slot {
    const { workers: _w, ...data } = this.options
    const worker = new Worker(workerUrl, { workerData: data })
    const slot: Slot = { worker, pending: new Map() }
    worker.on('message', (reply: WorkerReply) => this.onReply(n, slot, reply))
    worker.on('error', (err) => this.fail(n, `crashed: ${err.message}`, err))
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(n, `exited with code ${code}`)
    })
    return slot
  }

  private onReply(n: number, slot: Slot, reply: WorkerReply): void {
    const p = slot.pending.get(reply.id)
    if (!p) return
    slot.pending.delete(reply.id)
    if (reply.op === 'failed') {
      p.reject(this.fail(n, `chunk ${p.index}: ${reply.message}`))
      return
    }
    p.resolve({
      index: p.index,
      offset: p.offset,
      rawLength: p.length,
      body: Buffer.from(reply.body, 0, reply.bodyLength),
      crc32: reply.crc32,
      zero: reply.zero,
      raw: Buffer.from(reply.raw),
    })
  }

  // Records the first failure and rejects everything in flight with it.
  private fail(n: number, reason: string, cause?: unknown): WorkerCrashedError {
    this.failure ??= new WorkerCrashedError(n, reason, { cause })
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(this.failure)
      s.pending.clear()
    }
    return this.failure
  }
}
