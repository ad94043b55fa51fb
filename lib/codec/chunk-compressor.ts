import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { deflateBound, deflateChunk } from './gzip-member.js'
import { ownCopy } from '../workers/own-copy.js'

export type Codec = 'gzip' | 'zstd'

// A compressed chunk's payload: raw deflate (the writer adds the gzip header and
// trailer) or a whole zstd frame. A data chunk's `body` starts at offset 0 of an
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

type ZstdModule = { compress(data: Buffer, level?: number): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> }
let zstd: Promise<ZstdModule> | undefined

// Loaded on first use so gzip keeps working where the zstd binding has no build (32-bit Pi OS).
export function loadZstd(): Promise<ZstdModule> {
  return (zstd ??= import('@mongodb-js/zstd') as Promise<ZstdModule>)
}

async function encode(codec: Codec, level: number, data: Buffer): Promise<CompressedChunk> {
  const sha256 = createHash('sha256').update(data).digest('hex')
  if (codec === 'gzip') return { ...deflateChunk(data, level), sha256, zero: false }
  // Copied: the binding's buffer may be external memory, which cannot be transferred.
  const frame = ownCopy(await (await loadZstd()).compress(data, level))
  return { body: frame, crc32: crc32(data), sha256, zero: false }
}

// ZSTD_COMPRESSBOUND from zstd.h: a frame's worst case for n input bytes.
function zstdBound(n: number): number {
  return n + (n >>> 8) + (n < 128 * 1024 ? (128 * 1024 - n) >>> 11 : 0)
}

// The most a chunk of n bytes can compress to: the size of the pooled body buffers.
export function bodyBound(codec: Codec, n: number): number {
  return codec === 'gzip' ? Math.max(16 * 1024, deflateBound(n)) : zstdBound(n) + 64
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
