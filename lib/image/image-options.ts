import os from 'node:os'
import { ConfigError } from '../errors.js'
import type { OptionValues } from '../config/options.js'
import { requireDest, stationOf } from '../config/common-settings.js'
import type { Codec } from '../codec/chunk-compressor.js'
import type { ImageJobOptions } from './run-image.js'

// Defaults chosen from bench/RESULTS.md: benchmark before changing them.
export const DEFAULT_CHUNK_SIZE: Record<Codec, number> = { gzip: 2 ** 20, zstd: 16 * 2 ** 20 }
export const DEFAULT_LEVEL: Record<Codec, number> = { gzip: 6, zstd: 3 }
const LEVEL_RANGE: Record<Codec, readonly [number, number]> = { gzip: [0, 9], zstd: [1, 19] }
// Independent zstd frames smaller than this lose ratio: zstd's window is far larger than deflate's.
export const ZSTD_MIN_CHUNK = 16 * 2 ** 20

export type ResolvedImageOptions = Omit<ImageJobOptions, 'device'> & { readonly device: string | undefined }

// Settings (config file merged with flags) → the image job's options with defaults,
// checking what one key alone cannot (level range per codec, zstd frame size).
export function resolveImageOptions(s: OptionValues, hostname = os.hostname()): ResolvedImageOptions {
  const codec = (s.compress as Codec | undefined) ?? 'gzip'
  const dest = requireDest(s)
  const level = (s.level as number | undefined) ?? DEFAULT_LEVEL[codec]
  const [lo, hi] = LEVEL_RANGE[codec]
  if (level < lo || level > hi) throw new ConfigError('level', `${level} is outside ${lo}-${hi} for ${codec}`)
  const chunkSize = (s['chunk-size'] as number | undefined) ?? DEFAULT_CHUNK_SIZE[codec]
  if (codec === 'zstd' && chunkSize < ZSTD_MIN_CHUNK) {
    throw new ConfigError('chunk-size', `${chunkSize} is too small for zstd: independent frames need at least 16M to keep the ratio`)
  }
  const full = (s.full as boolean | undefined) ?? false
  const station = stationOf(s, hostname)
  return {
    device: s.device as string | undefined,
    dest,
    mount: s.mount as string | undefined,
    station,
    codec,
    level,
    workers: (s.workers as number | undefined) ?? os.availableParallelism(),
    chunkSize,
    minFree: s['min-free'] as number | undefined,
    progressIntervalSeconds: (s['progress-interval'] as number | undefined) ?? 30,
    verify: (s.verify as boolean | undefined) ?? true,
    wholeSha256: (s['whole-sha256'] as boolean | undefined) ?? false,
    full,
    skipTail: (s['skip-tail'] as boolean | undefined) ?? false,
    beforeImage: s['before-image'] as string | undefined,
    afterImage: s['after-image'] as string | undefined,
    commandTimeoutSeconds: (s['command-timeout'] as number | undefined) ?? 300,
  }
}
