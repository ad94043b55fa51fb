import { crc32 } from 'node:zlib'
import { ownCopy } from '../workers/own-copy.js'
import { checkAgainstManifest, type ImageCodec } from './codec.js'

type ZstdModule = { compress(data: Buffer, level?: number): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> }
let binding: Promise<ZstdModule> | undefined

// Loaded on first use so gzip keeps working where the zstd binding has no build (32-bit Pi OS).
export function loadZstd(): Promise<ZstdModule> {
  return (binding ??= import('@mongodb-js/zstd') as Promise<ZstdModule>)
}

// ZSTD_COMPRESSBOUND from zstd.h: a frame's worst case for n input bytes.
function zstdBound(n: number): number {
  return n + (n >>> 8) + (n < 128 * 1024 ? (128 * 1024 - n) >>> 11 : 0)
}

// Independent frames smaller than this lose ratio: zstd's window is far larger than deflate's.
const MIN_CHUNK = 16 * 2 ** 20

// zstd: a smaller image, read by `zstd -d` and Imager; each member is a whole frame.
export const zstd: ImageCodec = {
  name: 'zstd',
  imageExtension: '.img.zst',
  levels: { min: 1, max: 19, default: 3 },
  defaultChunkSize: MIN_CHUNK,
  minChunkSize: MIN_CHUNK,
  help: '.img.zst, smaller; zstd -d or Imager',
  // Copied: the binding's buffer may be external memory, which cannot be transferred.
  encode: async (data, level) => ({
    body: ownCopy(await (await loadZstd()).compress(data, level)),
    crc32: crc32(data),
  }),
  bodyBound: (n) => zstdBound(n) + 64,
  frame: (_level, body) => [body],
  decode: async (member, want) => {
    let raw: Buffer
    try {
      raw = ownCopy(await (await loadZstd()).decompress(member))
    } catch (err) {
      return { ok: false, reason: `zstd frame: ${(err as Error).message}` }
    }
    return checkAgainstManifest(raw, crc32(raw) >>> 0, want)
  },
}
