import { crc32 } from 'node:zlib'
import { gzipChunk } from './gzip-member.js'

export type Codec = 'gzip' | 'zstd'

// A compressed chunk: one gzip member or one zstd frame, in its own ArrayBuffer.
export interface CompressedChunk {
  readonly member: Buffer
  readonly crc32: number
  /** The chunk was all zeros and got the cached member: no compression work. */
  readonly zero: boolean
}

type ZstdModule = { compress(data: Buffer, level?: number): Promise<Buffer> }
let zstd: Promise<ZstdModule> | undefined

// Loaded on first use so gzip keeps working where the zstd binding has no build (32-bit Pi OS).
function loadZstd(): Promise<ZstdModule> {
  return (zstd ??= import('@mongodb-js/zstd') as Promise<ZstdModule>)
}

// Compresses with `codec` into a buffer that can be transferred between threads.
async function encode(codec: Codec, level: number, data: Buffer): Promise<CompressedChunk> {
  if (codec === 'gzip') return { ...gzipChunk(data, level), zero: false }
  const frame = await (await loadZstd()).compress(data, level)
  // Copy: the binding's buffer may be external memory, which cannot be transferred.
  const member = Buffer.allocUnsafeSlow(frame.length)
  frame.copy(member)
  return { member, crc32: crc32(data), zero: false }
}

// Per-thread state: a zero buffer to compare against and the members made from zeros.
export class ChunkCompressor {
  private zeros = Buffer.alloc(0)
  private readonly zeroMembers = new Map<number, CompressedChunk>()

  constructor(
    readonly codec: Codec,
    readonly level: number,
  ) {}

  // Free space on a trimmed card reads as zeros: those chunks reuse one member per length.
  async compress(data: Buffer): Promise<CompressedChunk> {
    if (!this.isZero(data)) return encode(this.codec, this.level, data)
    let cached = this.zeroMembers.get(data.length)
    if (!cached) {
      cached = { ...(await encode(this.codec, this.level, data)), zero: true }
      this.zeroMembers.set(data.length, cached)
    }
    const member = Buffer.allocUnsafeSlow(cached.member.length)
    cached.member.copy(member)
    return { ...cached, member }
  }

  private isZero(data: Buffer): boolean {
    if (this.zeros.length < data.length) this.zeros = Buffer.alloc(data.length)
    return data.equals(this.zeros.subarray(0, data.length))
  }
}
