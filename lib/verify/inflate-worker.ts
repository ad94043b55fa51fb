import { createHash } from 'node:crypto'
import { parentPort, workerData } from 'node:worker_threads'
import { ownCopy } from '../workers/own-copy.js'
import { freeNow, freeNowReady } from '../workers/release-memory.js'
import { nonZeroExtents } from './nonzero-extents.js'
import type { InflateReply, InflateRequest, InflateWorkerData } from './inflate-protocol.js'
import { CODECS } from '../codec/registry.js'

// A decompression thread: decodes and checks one member per request and transfers
// the decoded bytes back. Bad data is replied as 'bad'; an exception in the code
// is replied as 'failed'; a crash is seen by the pool through 'error'/'exit'.
const data = workerData as InflateWorkerData
const port = parentPort!
await freeNowReady // before the first message: see release-memory.ts

const codec = CODECS[data.codec]

function check(req: InflateRequest) {
  return codec.decode(Buffer.from(req.member, 0, req.length), req)
}

port.on('message', (req: InflateRequest) => {
  if (req.index === data.crashOnMember) process.exit(70) // fault injection for the tests
  const member = req.member // goes back with every reply: the engine reuses it
  check(req).then(
    (r) => {
      if (!r.ok)
        return port.postMessage({ op: 'bad', id: req.id, reason: r.reason, member } satisfies InflateReply, [member])
      // Transferable when the bytes start their own ArrayBuffer (zlib's large outputs
      // do; never Node's shared pool, which is smaller): rawLength says where they end.
      const sha256 = data.digest ? createHash('sha256').update(r.raw).digest('hex') : undefined
      const extents = data.extents ? nonZeroExtents(r.raw) : undefined
      if (!data.raw) {
        // Verify: the digest is the answer; the decoded bytes are freed here.
        const reply: InflateReply = {
          op: 'done',
          id: req.id,
          member,
          raw: new ArrayBuffer(0),
          rawLength: r.raw.length,
          extents,
          ...(sha256 ? { sha256 } : {}),
        }
        if (r.raw.byteOffset === 0 && r.raw.buffer.byteLength > Buffer.poolSize) freeNow(r.raw)
        return port.postMessage(reply, [member])
      }
      const own = r.raw.byteOffset === 0 && r.raw.buffer.byteLength > Buffer.poolSize ? r.raw : ownCopy(r.raw)
      const raw = own.buffer as ArrayBuffer
      const reply: InflateReply = {
        op: 'done',
        id: req.id,
        member,
        raw,
        rawLength: own.length,
        extents,
        ...(sha256 ? { sha256 } : {}),
      }
      port.postMessage(reply, [member, raw])
    },
    (err: unknown) =>
      port.postMessage(
        { op: 'failed', id: req.id, message: String((err as Error)?.message ?? err), member } satisfies InflateReply,
        [member],
      ),
  )
})
