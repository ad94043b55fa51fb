import os from 'node:os'
import type { Logger } from 'pino'
import type { LogSink } from '../log/logger.js'
import type { MountEntry } from '../system/mountinfo.js'
import { ConfigError } from '../errors.js'
import type { OptionValues } from '../config/options.js'
import { requireDest, stationOf } from '../config/common-settings.js'
import { type Codec, CODECS } from '../codec/registry.js'
import { formatBytes } from '../util/size.js'
import { setting, settingOr } from '../config/options.js'

// What one image run needs, resolved from the settings (or given by an API caller).
export interface ImageJobOptions {
  readonly device: string
  readonly dest: string
  readonly mount: string | undefined
  readonly station: string
  readonly codec: Codec
  readonly level: number
  readonly workers: number
  readonly chunkSize: number
  readonly minFree: number | undefined
  readonly progressIntervalSeconds: number
  /** Read the image back and check it before the manifest is written (default on). */
  readonly verify: boolean
  /** Also hash the whole image in one SHA-256 (one more pass over every byte, zeros included). */
  readonly wholeSha256?: boolean
  /** Read every byte (the old mode) instead of only what the filesystems use. */
  readonly full: boolean
  /** Used-block mode: leave unpartitioned space after the last partition out. */
  readonly skipTail: boolean
  /** Shell commands run before reading and after it (even on failure). */
  readonly beforeImage?: string
  readonly afterImage?: string
  readonly commandTimeoutSeconds: number
}

export interface ImageJobContext {
  readonly log: Logger
  readonly signal?: AbortSignal
  /** A terminal for the live progress line; undefined logs progress instead. */
  readonly tty?: NodeJS.WritableStream
  /** The log sink, so the live line steps aside for log lines. */
  readonly sink?: LogSink
  readonly now?: () => Date
  /** Injected by tests: the mount table and sysfs root, a slow writer, worker faults. */
  readonly mountinfo?: readonly MountEntry[]
  readonly sysfs?: string
  readonly beforeWrite?: (bytes: number) => Promise<void>
  readonly crashOnChunk?: number
  readonly crashMode?: 'throw' | 'exit' | 'reply'
  /** Test hook: runs between writing the image and verifying it (to damage it). */
  readonly beforeVerify?: (file: string) => Promise<void>
}

export type ResolvedImageOptions = Omit<ImageJobOptions, 'device'> & { readonly device: string | undefined }

// Settings (config file merged with flags) → the image job's options with defaults,
// checking what one key alone cannot (level range per codec, zstd frame size).
export function resolveImageOptions(s: OptionValues, hostname = os.hostname()): ResolvedImageOptions {
  const codec = settingOr(s, 'compress')
  const dest = requireDest(s)
  const spec = CODECS[codec]
  spec.available?.()
  const level = setting(s, 'level') ?? spec.levels.default
  const { min: lo, max: hi } = spec.levels
  if (level < lo || level > hi) throw new ConfigError('level', `${level} is outside ${lo}-${hi} for ${codec}`)
  const chunkSize = setting(s, 'chunk-size') ?? spec.defaultChunkSize
  if (chunkSize < spec.minChunkSize) {
    throw new ConfigError(
      'chunk-size',
      `${chunkSize} is too small for ${codec}: independent members need at least ` +
        `${formatBytes(spec.minChunkSize)} to keep the ratio`,
    )
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
    wholeSha256: settingOr(s, 'whole-sha256'),
    full,
    skipTail: settingOr(s, 'skip-tail'),
    beforeImage: setting(s, 'before-image'),
    afterImage: setting(s, 'after-image'),
    commandTimeoutSeconds: settingOr(s, 'command-timeout'),
  }
}
