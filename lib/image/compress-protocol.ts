// The messages between the pool and its compression threads. Buffers travel in the
// transfer list: the raw chunk and an empty body buffer go out and come back, the
// body holding the compressed bytes, so all their memory is reused (see
// compress-source.ts for why no thread allocates per chunk).
export interface WorkerRequest {
  readonly op: 'compress'
  readonly id: number
  readonly index: number
  readonly raw: ArrayBuffer
  readonly length: number
  /** Where the compressed bytes go: bodyBound() bytes, from the pool's body buffers. */
  readonly out: ArrayBuffer
}

export type WorkerReply =
  | {
      readonly op: 'done'
      readonly id: number
      readonly body: ArrayBuffer
      readonly bodyLength: number
      readonly crc32: number
      readonly sha256: string
      readonly zero: boolean
      readonly raw: ArrayBuffer
    }
  | {
      readonly op: 'failed'
      readonly id: number
      readonly message: string
      readonly raw: ArrayBuffer
      readonly out: ArrayBuffer
    }
