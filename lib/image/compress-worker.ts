import { parentPort, workerData } from 'node:worker_threads'
import { ChunkCompressor, type Codec } from './compress-chunk.js'
import type { WorkerReply, WorkerRequest } from './compress-protocol.js'

// The compression thread: receives a chunk, replies with its compressed body and the chunk's
// memory (both transferred, never copied). Failures are replied, not thrown, so the
// pool can name the chunk; a crash is seen by the pool through 'error'/'exit'.
const data = workerData as { codec: Codec; level: number; crashOnChunk?: number; crashMode?: 'throw' | 'exit' | 'reply' }
const compressor = new ChunkCompressor(data.codec, data.level)
const port = parentPort!


port.on('message', (req: WorkerRequest) => {
  const raw = Buffer.from(req.raw, 0, req.length)
  const injected = req.index === data.crashOnChunk ? data.crashMode : undefined
  // Fault injection for the tests: a worker that dies (or fails) the way real ones do.
  if (injected === 'exit') process.exit(70)
  if (injected === 'throw') throw new Error(`injected crash on chunk ${req.index}`)
  const work = injected === 'reply' ? Promise.reject(new Error('injected failure')) : compressor.compress(raw)
  work.then(
    (out) => {
      // ChunkCompressor hands out bodies that own their whole ArrayBuffer.
      const body = out.body.buffer as ArrayBuffer
      const reply: WorkerReply = { op: 'done', id: req.id, body, bodyLength: out.body.length, crc32: out.crc32, sha256: out.sha256, zero: out.zero, raw: req.raw }
      port.postMessage(reply, [body, req.raw])
    },
    (err: unknown) => {
      const reply: WorkerReply = { op: 'failed', id: req.id, message: String((err as Error)?.message ?? err), raw: req.raw }
      port.postMessage(reply, [req.raw])
    },
  )
})
