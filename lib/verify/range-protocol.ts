// The messages between the read-back checker and its threads. A thread reads the
// range itself (one reused buffer per thread): a SHA-256 cannot move between threads.
export interface RangeRequest {
  readonly op: 'check'
  readonly id: number
  readonly path: string
  readonly start: number
  readonly length: number
  /** The range's SHA-256 (hex); absent: the range must be all zeros (compared, not hashed). */
  readonly sha256?: string
}

export type RangeReply =
  | {
      readonly op: 'done'
      readonly id: number
      /** What the range holds: its SHA-256, or 'zeros' / the first non-zero byte's offset. */
      readonly got: string
      readonly ok: boolean
    }
  /** The device could not be read (EIO, ended early): a read-back result, not a crash. */
  | { readonly op: 'unreadable'; readonly id: number; readonly reason: string }
  | { readonly op: 'failed'; readonly id: number; readonly message: string }
