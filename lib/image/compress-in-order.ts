import type { BufferPool } from './buffer-pool.js'
import type { CompressPool, DoneChunk } from './compress-pool.js'
import type { RawChunk } from './read-source.js'

function noop(): void {}

// The ordering stage: keeps at most `maxInFlight` chunks between the reader and the
// writer and yields them in source order. When the writer is slow the generator is
// not resumed, so nothing more is read: memory stays at the limit.
// `beforeSend` sees each raw chunk first (the SHA-256 of the image), as its memory
// is transferred to a worker right after. Benchmark before editing (bench/compare.ts).
export async function* compressInOrder(
  chunks: AsyncIterable<RawChunk>,
  pool: CompressPool,
  buffers: BufferPool,
  maxInFlight: number,
  beforeSend: (chunk: RawChunk) => void,
): AsyncGenerator<DoneChunk> {
  const queue: Promise<DoneChunk>[] = []
  for await (const chunk of chunks) {
    beforeSend(chunk)
    // Free space (used-block mode) never reaches a thread: its member is cached.
    const p = chunk.zero
      ? pool.zeros(chunk)
      : pool.compress(chunk).then((done) => {
          buffers.release(done.raw)
          return done
        })
    p.catch(noop) // awaited in order below; a later chunk's failure must not go unhandled
    queue.push(p)
    if (queue.length >= maxInFlight) yield await queue.shift()!
  }
  while (queue.length > 0) yield await queue.shift()!
}
