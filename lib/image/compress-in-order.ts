import type { BufferPool } from '../workers/buffer-pool.js'
import type { CompressPool, DoneChunk } from './compress-pool.js'
import type { RawChunk } from './read-source.js'

function noop(): void {}

// Chunks of free space may queue up to this many beyond the data chunks: each holds
// only its cached member (about 1 KiB per MiB), and letting them pile up behind a
// slow data chunk keeps the threads fed with the data chunks after them.
const ZERO_CHUNKS_AHEAD = 256

// The ordering stage: keeps at most `maxInFlight` data chunks between the reader
// and the writer and yields every chunk in source order. Each data chunk takes a
// body buffer from `bodies`, which the writer releases once the member is written.
// When the writer is slow the generator is not resumed, so nothing more is read:
// memory stays at the limit.
// `beforeSend` sees each raw chunk first (the SHA-256 of the image), as its memory
// is transferred to a worker right after. Benchmark before editing (bench/compare.ts).
export async function* compressInOrder(
  chunks: AsyncIterable<RawChunk>,
  pool: CompressPool,
  buffers: BufferPool,
  bodies: BufferPool,
  maxInFlight: number,
  beforeSend: (chunk: RawChunk) => void,
): AsyncGenerator<DoneChunk> {
  const queue: Array<{ readonly done: Promise<DoneChunk>; readonly zero: boolean }> = []
  let data = 0
  const next = async () => {
    const head = queue.shift()!
    if (!head.zero) data--
    return head.done
  }
  for await (const chunk of chunks) {
    beforeSend(chunk)
    const zero = chunk.zero === true
    // Free space (used-block mode) never reaches a thread: its member is cached.
    const done = zero
      ? pool.zeros(chunk)
      : pool.compress(chunk, await bodies.acquire()).then((d) => {
          buffers.release(d.raw)
          return d
        })
    done.catch(noop) // awaited in order below; a later chunk's failure must not go unhandled
    queue.push({ done, zero })
    if (!zero) data++
    while (data >= maxInFlight || queue.length >= maxInFlight + ZERO_CHUNKS_AHEAD) yield await next()
  }
  while (queue.length > 0) yield await next()
}
