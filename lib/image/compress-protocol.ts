// The messages between the pool and its compression threads. Buffers travel in the
// transfer list: the raw chunk goes out and comes back, so its memory is reused;
// the compressed body comes back once and is freed as soon as it is written.
export interface WorkerRequest {
  readonly op: 'compress'
  readonly id: number
  readonly index: number
  readonly raw: ArrayBuffer
  readonly length: number
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
  | { readonly op: 'failed'; readonly id: number; readonly message: string; readonly raw: ArrayBuffer }
