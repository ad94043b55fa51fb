import os from 'node:os'
import type { OptionValues } from '../config/options.js'
import { ConfigError } from '../errors.js'

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
  const host = s['smtp-host'] as string | undefined
  const to = (s['mail-to'] as string | undefined)?.split(',').map((a) => a.trim()).filter(Boolean) ?? []
  if (host === undefined && to.length === 0) return undefined
  if (host === undefined) throw new ConfigError('smtp-host', 'is required when mail-to is set: the SMTP server that sends the alerts')
  if (to.length === 0) throw new ConfigError('mail-to', 'is required when smtp-host is set: who receives the alerts')
  const tls = s['smtp-tls'] === true
  return {
    host,
    port: (s['smtp-port'] as number | undefined) ?? (tls ? 465 : 587),
    tls,
    user: s['smtp-user'] as string | undefined,
    password: s['smtp-password'] as string | undefined,
    from: (s['mail-from'] as string | undefined) ?? `sd-backup@${hostname}`,
    to,
    onSuccess: new Set(((s['mail-on-success'] as string | undefined) ?? 'image').split(',').filter((j) => j && j !== 'none')),
    retries: (s['mail-retries'] as number | undefined) ?? 4,
    retryDelayMs: ((s['mail-retry-delay'] as number | undefined) ?? 5) * 1000,
    maxAgeHours: {
      database: (s['max-age-database'] as number | undefined) ?? 3,
      files: (s['max-age-files'] as number | undefined) ?? 30,
      image: (s['max-age-image'] as number | undefined) ?? 8 * 24,
    },
  }
}
