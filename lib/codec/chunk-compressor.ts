import { createHash } from 'node:crypto'
import { CODECS, type Codec } from './registry.js'

// A compressed chunk's payload: the codec's body (the writer adds the framing, e.g.
// gzip's header and trailer). A data chunk's `body` starts at offset 0 of an
// ArrayBuffer that holds nothing else (freeNow may free it); a zero chunk's is
// the cached payload, shared and never freed.
export interface CompressedChunk {
  readonly body: Buffer
  readonly crc32: number
  /** SHA-256 of the raw chunk, hex: hashed where the chunk already is (its thread). */
  readonly sha256: string
  /** The chunk was all zeros and got the cached payload: no compression work. */
  readonly zero: boolean
}

async function encode(codec: Codec, level: number, data: Buffer): Promise<CompressedChunk> {
  const sha256 = createHash('sha256').update(data).digest('hex')
  return { ...(await CODECS[codec].encode(data, level)), sha256, zero: false }
}

// The most a chunk of n bytes can compress to: the size of the pooled body buffers.
export function bodyBound(codec: Codec, n: number): number {
  return CODECS[codec].bodyBound(n)
}

// Per-thread state: a zero buffer to compare against and the payloads made from zeros.
export class ChunkCompressor {
  private zeroBuf = Buffer.alloc(0)
  private readonly zeroBodies = new Map<number, CompressedChunk>()

  constructor(
    readonly codec: Codec,
    readonly level: number,
  ) {}

  // Free space on a trimmed card reads as zeros: those chunks reuse one payload per length.
  async compress(data: Buffer): Promise<CompressedChunk> {
    return this.isZero(data) ? this.zeros(data.length) : encode(this.codec, this.level, data)
  }

  // A chunk known to be zeros (free space in used-block mode): no scan, no work after
  // the first. The body is the cached one: read it, never free or transfer it.
  async zeros(length: number): Promise<CompressedChunk> {
    let cached = this.zeroBodies.get(length)
    if (!cached) {
      cached = { ...(await encode(this.codec, this.level, Buffer.alloc(length))), zero: true }
      this.zeroBodies.set(length, cached)
    }
    return cached
  }

  private isZero(data: Buffer): boolean {
    if (this.zeroBuf.length < data.length) this.zeroBuf = Buffer.alloc(data.length)
    return data.equals(this.zeroBuf.subarray(0, data.length))
  }
}
