import os from 'node:os'
import { ConfigError } from '../errors.js'
import type { OptionValues } from '../config/options.js'
import { requireDest, stationOf } from '../config/common-settings.js'
import type { ImageJobOptions } from './run-image.js'
import { CODECS } from '../codec/registry.js'
import { formatBytes } from '../util/size.js'
import { setting, settingOr } from '../config/options.js'


export type ResolvedImageOptions = Omit<ImageJobOptions, 'device'> & { readonly device: string | undefined }

// Settings (config file merged with flags) → the image job's options with defaults,
// checking what one key alone cannot (level range per codec, zstd frame size).
export function resolveImageOptions(s: OptionValues, hostname = os.hostname()): ResolvedImageOptions {
  const codec = settingOr(s, 'compress')
  const dest = requireDest(s)
  const spec = CODECS[codec]
  const level = setting(s, 'level') ?? spec.levels.default
  const { min: lo, max: hi } = spec.levels
  if (level < lo || level > hi) throw new ConfigError('level', `${level} is outside ${lo}-${hi} for ${codec}`)
  const chunkSize = setting(s, 'chunk-size') ?? spec.defaultChunkSize
  if (chunkSize < spec.minChunkSize) {
    throw new ConfigError('chunk-size', `${chunkSize} is too small for ${codec}: independent members need at least ${formatBytes(spec.minChunkSize)} to keep the ratio`)
  }
  const full = settingOr(s, 'full')
  const station = stationOf(s, hostname)
  return {
    device: setting(s, 'device'),
    dest,
    mount: setting(s, 'mount'),
    station,
    codec,
    level,
    workers: setting(s, 'workers') ?? os.availableParallelism(),
    chunkSize,
    minFree: setting(s, 'min-free'),
    progressIntervalSeconds: settingOr(s, 'progress-interval'),
    verify: settingOr(s, 'verify'),
    wholeSha256: (s['whole-sha256'] as boolean | undefined) ?? false,
    full,
    skipTail: settingOr(s, 'skip-tail'),
    beforeImage: setting(s, 'before-image'),
    afterImage: setting(s, 'after-image'),
    commandTimeoutSeconds: settingOr(s, 'command-timeout'),
  }
}
