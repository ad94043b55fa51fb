import os from 'node:os'
import type { OptionValues } from '../config/options.js'
import { ConfigError } from '../errors.js'
import { setting, settingOr } from '../config/options.js'

// Where alerts go and when; undefined settings mean "no alerts configured".
export interface AlertSettings {
  readonly host: string
  readonly port: number
  readonly tls: boolean
  readonly user: string | undefined
  readonly password: string | undefined
  readonly from: string
  readonly to: readonly string[]
  readonly onSuccess: ReadonlySet<string>
  readonly retries: number
  readonly retryDelayMs: number
  /** Hours without a successful backup of a kind before every run alerts about it. */
  readonly maxAgeHours: Readonly<Record<'database' | 'files' | 'image', number>>
}

// Settings → alert settings; host and recipients go together or not at all.
export function resolveAlertSettings(s: OptionValues, hostname = os.hostname()): AlertSettings | undefined {
  const host = setting(s, 'smtp-host')
  const to =
    setting(s, 'mail-to')
      ?.split(',')
      .map((a) => a.trim())
      .filter(Boolean) ?? []
  if (host === undefined && to.length === 0) return undefined
  if (host === undefined)
    throw new ConfigError('smtp-host', 'is required when mail-to is set: the SMTP server that sends the alerts')
  if (to.length === 0) throw new ConfigError('mail-to', 'is required when smtp-host is set: who receives the alerts')
  const tls = settingOr(s, 'smtp-tls')
  return {
    host,
    port: setting(s, 'smtp-port') ?? (tls ? 465 : 587),
    tls,
    user: setting(s, 'smtp-user'),
    password: setting(s, 'smtp-password'),
    from: setting(s, 'mail-from') ?? `sd-backup@${hostname}`,
    to,
    onSuccess: new Set(
      settingOr(s, 'mail-on-success')
        .split(',')
        .filter((j) => j && j !== 'none'),
    ),
    retries: settingOr(s, 'mail-retries'),
    retryDelayMs: settingOr(s, 'mail-retry-delay') * 1000,
    maxAgeHours: {
      database: settingOr(s, 'max-age-database'),
      files: settingOr(s, 'max-age-files'),
      image: settingOr(s, 'max-age-image'),
    },
  }
}
