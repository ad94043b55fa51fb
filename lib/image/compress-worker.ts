import { parentPort, workerData } from 'node:worker_threads'
import { ChunkCompressor } from '../codec/chunk-compressor.js'
import type { WorkerReply, WorkerRequest } from './compress-protocol.js'
import { freeNow, freeNowReady } from '../workers/release-memory.js'
import { type Codec } from '../codec/registry.js'

// The compression thread: receives a chunk and a buffer for its compressed body, and
// replies with both (transferred, never copied between threads). Failures are replied, not thrown, so the
// pool can name the chunk; a crash is seen by the pool through 'error'/'exit'.
const data = workerData as {
  codec: Codec
  level: number
  crashOnChunk?: number
  crashMode?: 'throw' | 'exit' | 'reply'
}
const compressor = new ChunkCompressor(data.codec, data.level)
const port = parentPort!
await freeNowReady // before the first message: see release-memory.ts

port.on('message', (req: WorkerRequest) => {
  const raw = Buffer.from(req.raw, 0, req.length)
  const injected = req.index === data.crashOnChunk ? data.crashMode : undefined
  // Fault injection for the tests: a worker that dies (or fails) the way real ones do.
  if (injected === 'exit') process.exit(70)
  if (injected === 'throw') throw new Error(`injected crash on chunk ${req.index}`)
  const work = injected === 'reply' ? Promise.reject(new Error('injected failure')) : compressor.compress(raw)
  const fail = (err: unknown) => {
    const reply: WorkerReply = {
      op: 'failed',
      id: req.id,
      message: String((err as Error)?.message ?? err),
      raw: req.raw,
      out: req.out,
    }
    port.postMessage(reply, [req.raw, req.out])
  }
  work.then((c) => {
    if (c.body.length > req.out.byteLength)
      return fail(
        new Error(
          `chunk ${req.index} compressed to ${c.body.length} bytes, more than its bound of ${req.out.byteLength}`,
        ),
      )
    // Copied into the pool's buffer and freed here at once: this thread's allocations
    // then come and go in order, so glibc's arenas do not fragment (bench/RESULTS.md).
    const bodyLength = c.body.length // read before freeNow detaches it
    new Uint8Array(req.out).set(c.body)
    if (!c.zero) freeNow(c.body)
    const reply: WorkerReply = {
      op: 'done',
      id: req.id,
      body: req.out,
      bodyLength,
      crc32: c.crc32,
      sha256: c.sha256,
      zero: c.zero,
      raw: req.raw,
    }
    port.postMessage(reply, [req.out, req.raw])
  }, fail)
})
