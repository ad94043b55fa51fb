import { MessageChannel } from 'node:worker_threads'

// Why this file exists: V8 frees a dead Buffer's memory only at its next GC, and
// starts one only after ~64 MiB of such memory per thread. The writer makes a
// chunk's worth of dead memory per chunk (the compressed body it just wrote), so
// without help RSS sits tens of MiB above what the pipeline holds
// (bench/RESULTS.md: 168 → 113 MB at 4 MiB chunks). Benchmark before editing.

// A port whose other end is closed: what is transferred to it is freed at once.
// The close itself takes an event-loop turn; until then transfers queue up on the
// other end, and a busy worker thread may go a thousand messages without a turn.
const { port1: drain, port2: drainEnd } = new MessageChannel()
drain.unref()

/** Resolves once freeNow frees at once: a worker thread awaits it before its first message. */
export const freeNowReady: Promise<void> = new Promise((resolve) => drainEnd.once('close', () => resolve()))
drainEnd.close()

// Frees a buffer's memory now, without waiting for a GC. The buffer must own its
// whole ArrayBuffer (allocUnsafeSlow or transferred), and is unusable afterwards.
export function freeNow(buf: Buffer): void {
  drain.postMessage(null, [buf.buffer as ArrayBuffer])
}
