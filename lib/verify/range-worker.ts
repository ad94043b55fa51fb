import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import type { RangeReply, RangeRequest } from './range-protocol.js'

// A read-back thread: reads one range of a card (or file) and answers whether it
// holds what the image says, by SHA-256 or, for zeros, by comparing bytes. Reads
// are synchronous: this thread does nothing else, and libuv's pool stays free.
const port = parentPort!
const PIECE = 4 * 2 ** 20
const buf = Buffer.allocUnsafeSlow(PIECE)
const zeros = Buffer.alloc(PIECE)

// Opened per range and closed after: a thread's descriptors outlive the thread
// (they are the process's), and a card must not stay open once it is checked.
function check(req: RangeRequest): RangeReply {
  let fd: number
  try {
    fd = openSync(req.path, 'r')
  } catch (err) {
    return {
      op: 'unreadable',
      id: req.id,
      reason: `it cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    }
  }
  try {
    return checkOpen(fd, req)
  } finally {
    closeSync(fd)
  }
}

function checkOpen(fd: number, req: RangeRequest): RangeReply {
  const hash = req.sha256 !== undefined ? createHash('sha256') : undefined
  for (let done = 0; done < req.length;) {
    let n: number
    try {
      n = readSync(fd, buf, 0, Math.min(PIECE, req.length - done), req.start + done)
    } catch (err) {
      return {
        op: 'unreadable',
        id: req.id,
        reason: `${(err as NodeJS.ErrnoException).code ?? 'error'} at byte ${req.start + done}`,
      }
    }
    if (n === 0) return { op: 'unreadable', id: req.id, reason: `it ends at byte ${req.start + done}` }
    const piece = buf.subarray(0, n)
    if (hash) hash.update(piece)
    else if (!piece.equals(zeros.subarray(0, n))) {
      const at = piece.findIndex((b) => b !== 0)
      return { op: 'done', id: req.id, ok: false, got: `a non-zero byte at ${req.start + done + at}` }
    }
    done += n
  }
  if (!hash) return { op: 'done', id: req.id, ok: true, got: 'zeros' }
  const got = hash.digest('hex')
  return { op: 'done', id: req.id, ok: got === req.sha256, got }
}

port.on('message', (req: RangeRequest) => {
  let reply: RangeReply
  try {
    reply = check(req)
  } catch (err) {
    reply = { op: 'failed', id: req.id, message: String((err as Error)?.message ?? err) }
  }
  port.postMessage(reply)
})
