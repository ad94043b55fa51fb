import { createRequire } from 'node:module'
import zlib from 'node:zlib'
import { promisify } from 'node:util'
import { RuntimeFeatureError } from '../errors.js'
import { completeFrame } from './zstd-frames.js'

// zstd from whichever library this runtime has: Node's own zlib (22.15+, nothing to
// build) or else the optional @mongodb-js/zstd addon. Both write the same format: one
// frame per call, with its content size and XXH64 checksum.
export interface ZstdEngine {
  readonly name: 'node:zlib' | '@mongodb-js/zstd'
  compress(data: Buffer, level: number): Promise<Buffer>
  decompress(frame: Buffer): Promise<Buffer>
}

type Addon = { compress(data: Buffer, level?: number): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> }

const require = createRequire(import.meta.url)

function nodeZlib(): ZstdEngine | undefined {
  if (typeof zlib.zstdCompress !== 'function') return undefined
  const { ZSTD_c_compressionLevel, ZSTD_c_checksumFlag, ZSTD_c_contentSizeFlag } = zlib.constants
  const compress = promisify(zlib.zstdCompress)
  const decompress = promisify(zlib.zstdDecompress)
  return {
    name: 'node:zlib',
    compress: async (data, level) =>
      completeFrame(
        await compress(data, {
          params: { [ZSTD_c_compressionLevel]: level, [ZSTD_c_checksumFlag]: 1, [ZSTD_c_contentSizeFlag]: 1 },
        }),
        data,
      ),
    decompress: (frame) => decompress(frame),
  }
}

function addon(): ZstdEngine | undefined {
  let mod: Addon
  try {
    mod = require('@mongodb-js/zstd') as Addon
  } catch {
    return undefined // not installed (optional), or no build for this machine (32-bit ARM)
  }
  return {
    name: '@mongodb-js/zstd',
    // The addon writes neither size nor checksum: completed here.
    compress: async (data, level) => completeFrame(await mod.compress(data, level), data),
    decompress: (frame) => mod.decompress(frame),
  }
}

let engine: ZstdEngine | undefined

// The engine, found once: node:zlib first, so current Node needs no native addon.
export function zstdEngine(): ZstdEngine {
  engine ??= nodeZlib() ?? addon()
  if (!engine)
    throw new RuntimeFeatureError(
      'zstd',
      `Node ${process.version} has no zstd in node:zlib (Node 22.15 or later) and the optional @mongodb-js/zstd ` +
        'is not installed: install Node 22 LTS or later, run `npm install @mongodb-js/zstd`, or use --compress gzip',
    )
  return engine
}
