import { ReadBackMismatchError } from '../errors.js'
import { siblingScript, WorkerPool } from '../workers/worker-pool.js'
import type { RangeReply, RangeRequest } from './range-protocol.js'

// One range of a card to check: its SHA-256, or zeros when `sha256` is absent.
export interface RangeCheck {
  readonly start: number
  readonly length: number
  readonly sha256?: string
  /** How a mismatch names the range: "member 12 (bytes …)". */
  readonly label: string
}

export interface CheckRangesOptions {
  readonly workers: number
  readonly signal?: AbortSignal
  /** Called with each range's length once it is checked, in order. */
  readonly onChecked?: (length: number) => void
}

function noop(): void {}

// Reads a card back range by range on worker threads (each thread reads and hashes
// its own range) and throws ReadBackMismatchError for the first range, in order,
// that does not hold what the image says. Zero ranges are compared, not hashed.
// The main thread only orders the answers. At most 2 x workers ranges in flight.
export async function checkRanges(path: string, ranges: Iterable<RangeCheck>, opts: CheckRangesOptions): Promise<void> {
  const pool = new WorkerPool<RangeRequest, RangeReply>(
    siblingScript(import.meta.url, 'range-worker'),
    opts.workers,
    undefined,
    'read-back',
  )
  const queue: Array<{ readonly range: RangeCheck; readonly reply: Promise<Exclude<RangeReply, { op: 'failed' }>> }> =
    []
  const take = async () => {
    const { range, reply } = queue.shift()!
    const r = await reply
    const want = range.sha256 ?? 'zeros'
    if (r.op === 'unreadable')
      throw new ReadBackMismatchError(path, want, `nothing readable (${r.reason})`, range.label)
    if (!r.ok) throw new ReadBackMismatchError(path, want, r.got, range.label)
    opts.onChecked?.(range.length)
  }
  try {
    for (const range of ranges) {
      opts.signal?.throwIfAborted()
      const { start, length, sha256 } = range
      const reply = pool.run(
        (id) => ({ op: 'check', id, path, start, length, ...(sha256 !== undefined ? { sha256 } : {}) }),
        [],
        range.label,
      )
      reply.catch(noop) // awaited in order by take()
      queue.push({ range, reply })
      if (queue.length >= 2 * opts.workers) await take()
    }
    while (queue.length > 0) await take()
  } finally {
    await pool.close()
  }
}
