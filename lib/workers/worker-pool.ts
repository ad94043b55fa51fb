import { Worker } from 'node:worker_threads'
import { WorkerCrashedError, type WorkerRole } from '../errors.js'

// Every message carries the id of the request it belongs to; a reply with op
// 'failed' is the worker reporting its own failure (the pool names the chunk).
export interface PoolMessage {
  readonly op: string
  readonly id: number
}

interface Pending {
  readonly label: string
  readonly resolve: (reply: PoolMessage) => void
  readonly reject: (e: Error) => void
}

interface Slot {
  readonly worker: Worker
  readonly pending: Map<number, Pending>
  /** Requests the thread is still working on, even after the pool gave up on them. */
  busy: number
  exited: boolean
  idle?: () => void
}

// A fixed set of threads speaking a small coded protocol (pino's thread-stream style).
// Any worker that dies fails every request in flight and every later one with
// WorkerCrashedError: the job stops cleanly, never hangs. Used by compression
// (lib/image/compress-pool.ts) and verification (lib/verify/inflate-pool.ts).
export class WorkerPool<Req extends PoolMessage, Reply extends PoolMessage> {
  private readonly slots: Slot[] = []
  private nextId = 0
  private failure: WorkerCrashedError | undefined
  private closing = false

  constructor(
    readonly script: URL,
    readonly count: number,
    readonly workerData: unknown,
    readonly role: WorkerRole,
  ) {
    for (let i = 0; i < count; i++) this.slots.push(this.spawn(i))
  }

  // Sends a request to the least busy worker; `transfer` moves buffers without a copy.
  run(
    make: (id: number) => Req,
    transfer: readonly ArrayBuffer[],
    label: string,
  ): Promise<Exclude<Reply, { op: 'failed' }>> {
    if (this.failure) return Promise.reject(this.failure)
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { label, resolve: resolve as (r: PoolMessage) => void, reject })
      slot.busy++
      slot.worker.postMessage(make(id), [...transfer])
    })
  }

  // Stops every thread once it has finished what it is doing: terminating a thread
  // inside a synchronous zlib call aborts the whole process (a Node assertion,
  // "close before init"). Safe to call twice and after a failure.
  async close(): Promise<void> {
    this.closing = true
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.busy > 0 && !s.exited) await new Promise<void>((r) => (s.idle = r))
        await s.worker.terminate()
      }),
    )
  }

  private spawn(n: number): Slot {
    const worker = new Worker(this.script, { workerData: this.workerData })
    const slot: Slot = { worker, pending: new Map(), busy: 0, exited: false }
    worker.on('message', (reply: Reply) => {
      if (--slot.busy === 0) slot.idle?.()
      this.onReply(n, slot, reply)
    })
    worker.on('error', (err) => this.fail(n, `crashed: ${err.message}`, err))
    worker.on('exit', (code) => {
      slot.exited = true
      slot.idle?.()
      if (!this.closing) this.fail(n, `exited with code ${code}`)
    })
    return slot
  }

  private onReply(n: number, slot: Slot, reply: Reply): void {
    const p = slot.pending.get(reply.id)
    if (!p) return
    slot.pending.delete(reply.id)
    if (reply.op === 'failed')
      p.reject(this.fail(n, `${p.label}: ${(reply as unknown as { message: string }).message}`))
    else p.resolve(reply)
  }

  // Records the first failure and rejects everything in flight with it.
  private fail(n: number, reason: string, cause?: unknown): WorkerCrashedError {
    this.failure ??= new WorkerCrashedError(this.role, n, reason, { cause })
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(this.failure)
      s.pending.clear()
    }
    return this.failure
  }
}

// The worker script beside `from`: .ts under the test loader, .js when built.
export function siblingScript(from: string, name: string): URL {
  return new URL(`./${name}${from.endsWith('.ts') ? '.ts' : '.js'}`, from)
}
