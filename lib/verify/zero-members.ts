import { createHash } from 'node:crypto'
import { ChunkCompressor } from '../codec/chunk-compressor.js'
import { type Codec, CODECS } from '../codec/registry.js'

// What a member of zeros looks like when the image job wrote it: the same encoder
// and level give the same bytes, so such a member is checked by comparing bytes,
// without inflating it, and its digest follows from its length. A member that does
// not match (another zlib, another level) is simply inflated and hashed.
export class ZeroMembers {
  private readonly encoder: ChunkCompressor
  private readonly bytes = new Map<number, Promise<Buffer>>()
  private readonly digests = new Map<number, string>()
  private zeros = Buffer.alloc(0)

  constructor(
    readonly codec: Codec,
    readonly level: number,
  ) {
    this.encoder = new ChunkCompressor(codec, level)
  }

  // The member the image job writes for `length` zeros (header, body, trailer).
  member(length: number): Promise<Buffer> {
    let b = this.bytes.get(length)
    if (!b) {
      b = this.encoder
        .zeros(length)
        .then((c) => Buffer.concat(CODECS[this.codec].frame(this.level, c.body, c.crc32, length)))
      this.bytes.set(length, b)
    }
    return b
  }

  // SHA-256 (hex) of `length` zeros.
  digest(length: number): string {
    let d = this.digests.get(length)
    if (!d) {
      d = createHash('sha256').update(this.view(length)).digest('hex')
      this.digests.set(length, d)
    }
    return d
  }

  // A shared view of `length` zeros: read it, never keep or free it.
  view(length: number): Buffer {
    if (this.zeros.length < length) this.zeros = Buffer.alloc(length)
    return this.zeros.subarray(0, length)
  }
}
