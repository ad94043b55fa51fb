import type { Codec } from '../codec/registry.js'

// The messages between the verify/restore engine and its decompression threads.
// The member's bytes go out in the transfer list and come back with every reply
// (with the decoded data when asked for), so nothing is copied between threads and
// the member buffers are reused (see inflate-image.ts).
export interface InflateRequest {
  readonly op: 'inflate'
  readonly id: number
  readonly index: number
  readonly member: ArrayBuffer
  readonly length: number
  readonly rawLength: number
  readonly crc32: number
}

export type InflateReply =
  | {
      readonly op: 'done'
      readonly id: number
      readonly member: ArrayBuffer
      readonly raw: ArrayBuffer
      readonly rawLength: number
      /** Non-zero [start, end) pairs within the member, when the pool asked for them. */
      readonly extents: readonly number[] | undefined
      /** SHA-256 of the decoded bytes (hex), when the pool asked for digests. */
      readonly sha256?: string
    }
  /** The member's data is bad: a verify result, not a worker failure. */
  | { readonly op: 'bad'; readonly id: number; readonly reason: string; readonly member: ArrayBuffer }
  | { readonly op: 'failed'; readonly id: number; readonly message: string; readonly member: ArrayBuffer }

// How the threads are set up: the codec, whether to map the zero runs, test faults.
export interface InflateWorkerData {
  readonly codec: Codec
  readonly extents: boolean
  /** Hash each decoded member here, on the thread that holds it. */
  readonly digest: boolean
  /** Send the decoded bytes back (restore); verify needs only the digests. */
  readonly raw: boolean
  readonly crashOnMember?: number
}
