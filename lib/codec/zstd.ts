import { crc32 } from 'node:zlib'
import { ownCopy } from '../workers/own-copy.js'
import { checkAgainstManifest, type ImageCodec } from './codec.js'
import { zstdEngine, type ZstdEngine } from './zstd-engine.js'

// Found on first use, so gzip keeps working where there is no zstd (Node < 22.15 without the addon).
export function loadZstd(): Promise<ZstdEngine> {
  return Promise.resolve().then(zstdEngine)
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
  available: () => void zstdEngine(),
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
