import { BackupCorruptError } from '../errors.js'
import { siblingScript, WorkerPool } from '../workers/worker-pool.js'
import type { InflateReply, InflateRequest, InflateWorkerData } from './inflate-protocol.js'

// One decoded, checked member.
export interface InflatedMember {
  readonly index: number
  /** The decoded bytes; empty when the pool was set up without them (verify). */
  readonly raw: Buffer
  readonly rawLength: number
  readonly extents: readonly number[] | undefined
  readonly sha256?: string
  /** `raw` is a shared view (a member of zeros): never free it. */
  readonly shared?: boolean
}

// Where a member's buffer goes once its thread hands it back (decoded or not).
export type MemberReturn = (member: Buffer) => void

// The decompression threads: a WorkerPool speaking inflate-protocol.
export class InflatePool {
  private readonly pool: WorkerPool<InflateRequest, InflateReply>

  constructor(
    readonly file: string,
    workers: number,
    data: InflateWorkerData,
    private readonly giveBack: MemberReturn,
  ) {
    this.pool = new WorkerPool(siblingScript(import.meta.url, 'inflate-worker'), workers, data, 'decompression')
  }

  // Decodes member `index` (its bytes are transferred, and given back to `giveBack`
  // when the thread replies); bad data → BackupCorruptError.
  async inflate(
    index: number,
    offset: number,
    member: Buffer,
    rawLength: number,
    crc32: number,
  ): Promise<InflatedMember> {
    const buf = member.buffer as ArrayBuffer
    const length = member.length
    const reply = await this.pool.run(
      (id) => ({ op: 'inflate', id, index, member: buf, length, rawLength, crc32 }),
      [buf],
      `member ${index}`,
    )
    this.giveBack(Buffer.from(reply.member))
    if (reply.op === 'bad')
      throw new BackupCorruptError(this.file, `member ${index} at byte ${offset}: ${reply.reason}`, {
        member: index,
        offset,
      })
    return {
      index,
      raw: Buffer.from(reply.raw, 0, reply.raw.byteLength === 0 ? 0 : reply.rawLength),
      rawLength: reply.rawLength,
      extents: reply.extents,
      ...(reply.sha256 ? { sha256: reply.sha256 } : {}),
    }
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}
