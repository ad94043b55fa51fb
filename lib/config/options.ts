import { ConfigError } from '../errors.js'
import { parseSize } from '../util/size.js'

// One table describes every setting: it drives flag parsing, config-file validation
// and the --help text, so a key can never be a flag but not a config key or vice versa.
export interface OptionSpec {
  readonly key: string
  readonly type: 'string' | 'int' | 'size' | 'bool' | 'enum'
  readonly help: string
  readonly values?: readonly string[]
  readonly min?: number
  readonly max?: number
  readonly pattern?: RegExp
  /** What `pattern` allows, for the error message. */
  readonly patternHelp?: string
  /** Repeatable flag (--db A --db B); comma-separated in the config file. */
  readonly multiple?: boolean
}

export type OptionValue = string | number | boolean | readonly string[]
export type OptionValues = Record<string, OptionValue>

// E-mail alerts, shared by every job and by `sd-backup alert`.
export const ALERT_OPTIONS: readonly OptionSpec[] = [
  { key: 'smtp-host', type: 'string', help: 'SMTP server for alerts; no alerts without it' },
  { key: 'smtp-port', type: 'int', min: 1, max: 65535, help: 'SMTP port [587, or 465 with smtp-tls]' },
  { key: 'smtp-tls', type: 'bool', help: 'implicit TLS (port 465); otherwise STARTTLS when offered [false]' },
  { key: 'smtp-user', type: 'string', help: 'SMTP login' },
  { key: 'smtp-password', type: 'string', help: 'SMTP password (keep the config file mode 600)' },
  { key: 'mail-from', type: 'string', help: 'sender address [sd-backup@HOSTNAME]' },
  { key: 'mail-to', type: 'string', help: 'recipients, comma-separated' },
  { key: 'mail-on-success', type: 'string', pattern: /^[a-z,]+$/, patternHelp: 'job names separated by commas (image,files) or none', help: 'jobs that also mail on success, comma-separated, or none [image]' },
  { key: 'mail-retries', type: 'int', min: 1, max: 20, help: 'attempts to send an alert before giving up [4]' },
  { key: 'mail-retry-delay', type: 'int', min: 0, max: 3600, help: 'seconds before the first retry, doubling after [5]' },
  { key: 'max-age-database', type: 'int', min: 1, max: 100000, help: 'hours without a good database copy before alerting [3]' },
  { key: 'max-age-files', type: 'int', min: 1, max: 100000, help: 'hours without a good file snapshot before alerting [30]' },
  { key: 'max-age-image', type: 'int', min: 1, max: 100000, help: 'hours without a good image before alerting [192]' },
]

// Settings only `sd-backup image` has, in the order --help shows them.
export const IMAGE_ONLY_OPTIONS: readonly OptionSpec[] = [
  { key: 'device', type: 'string', help: 'block device or image file to back up (default: the disk holding /)' },
  { key: 'dest', type: 'string', help: 'backup root on the NAS; images go to DEST/STATION/images/' },
  { key: 'mount', type: 'string', help: 'NAS mount point: must be mounted, and --dest must lie inside it' },
  {
    key: 'station',
    type: 'string',
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    patternHelp: "letters, digits, '.', '_' and '-'",
    help: 'station name used in paths (default: the hostname)',
  },
  { key: 'dest-group', type: 'string', help: 'group that may read the backups: files 0640 and directories 0750 in that group [none: 0600/0700]' },
  { key: 'compress', type: 'enum', values: ['gzip', 'zstd'], help: 'gzip (.img.gz, flashable by Imager/Etcher) or zstd (.img.zst) [gzip]' },
  { key: 'level', type: 'int', min: 0, max: 19, help: 'compression level: gzip 0-9 [6], zstd 1-19 [3]' },
  { key: 'workers', type: 'int', min: 1, max: 64, help: 'compression threads [one per core]' },
  { key: 'chunk-size', type: 'size', min: 64 * 1024, max: 256 * 1024 ** 2, help: 'bytes per gzip member / zstd frame [gzip 1M, zstd 16M]' },
  { key: 'min-free', type: 'size', help: 'free space required on the NAS [previous image x 1.2]' },
  { key: 'progress-interval', type: 'int', min: 1, max: 86400, help: 'seconds between progress log lines when not on a terminal [30]' },
  { key: 'full', type: 'bool', help: 'read every byte of the card, free space included (default: only what the filesystems use)' },
  { key: 'skip-tail', type: 'bool', help: 'leave unpartitioned space after the last partition out (zeros in the image) [false]' },
  { key: 'before-image', type: 'string', help: "shell command run before reading (e.g. 'systemctl stop birdnet_recording')" },
  { key: 'after-image', type: 'string', help: 'shell command run after reading, even when the image failed' },
  { key: 'command-timeout', type: 'int', min: 1, max: 86400, help: 'seconds before-image/after-image may take [300]' },
  { key: 'verify', type: 'bool', help: 'read the image back and check every member against its SHA-256 [true; --no-verify skips]' },
  { key: 'whole-sha256', type: 'bool', help: 'also record one SHA-256 of the whole image (a pass over every byte, free space included) [false]' },
  { key: 'log-level', type: 'enum', values: ['debug', 'info', 'warn', 'error'], help: 'log level [info]' },
]

// Turns the text of one setting into its typed value, or a ConfigError naming the key.
export function parseOptionValue(spec: OptionSpec, text: string, file?: string, line?: number): OptionValue {
  if (spec.multiple) return text.split(',').map((p) => p.trim()).filter(Boolean)
  const fail = (problem: string): never => {
    throw new ConfigError(spec.key, problem, file, line)
  }
  switch (spec.type) {
    case 'bool':
      if (/^(true|yes|on|1)$/i.test(text)) return true
      if (/^(false|no|off|0)$/i.test(text)) return false
      return fail(`'${text}' is not a boolean (use true or false)`)
    case 'enum':
      if (!spec.values?.includes(text)) fail(`'${text}' is not one of: ${spec.values?.join(', ')}`)
      return text
    case 'int': {
      if (!/^-?\d+$/.test(text.trim())) fail(`'${text}' is not a whole number`)
      return checkRange(spec, Number(text), fail)
    }
    case 'size': {
      let n: number
      try {
        n = parseSize(spec.key, text)
      } catch (err) {
        return fail((err as ConfigError).problem)
      }
      return checkRange(spec, n, fail)
    }
    default:
      if (text === '') fail('is empty')
      if (spec.pattern && !spec.pattern.test(text)) fail(`'${text}' is not allowed here: use ${spec.patternHelp}`)
      return text
  }
}

function checkRange(spec: OptionSpec, n: number, fail: (p: string) => never): number {
  if (spec.min !== undefined && n < spec.min) fail(`${n} is below the minimum ${spec.min}`)
  if (spec.max !== undefined && n > spec.max) fail(`${n} is above the maximum ${spec.max}`)
  return n
}

// Settings of `sd-backup image`: its own, then the alert keys every job takes.
export const IMAGE_OPTIONS: readonly OptionSpec[] = [...IMAGE_ONLY_OPTIONS, ...ALERT_OPTIONS]

// Settings of `sd-backup cleanup`.
export const CLEANUP_OPTIONS: readonly OptionSpec[] = [
  IMAGE_OPTIONS.find((o) => o.key === 'dest')!,
  IMAGE_OPTIONS.find((o) => o.key === 'mount')!,
  IMAGE_OPTIONS.find((o) => o.key === 'station')!,
  IMAGE_OPTIONS.find((o) => o.key === 'dest-group')!,
  { key: 'dry-run', type: 'bool', help: 'show what would be removed, and why, without removing anything' },
  { key: 'keep-weekly', type: 'int', min: 0, max: 1000, help: 'weekly images to keep [7]' },
  { key: 'keep-daily', type: 'int', min: 0, max: 10000, help: 'days of daily file snapshots to keep [14]' },
  { key: 'keep-hourly', type: 'int', min: 0, max: 100000, help: 'hours of hourly database copies to keep [48]' },
  { key: 'keep-daily-database', type: 'int', min: 0, max: 10000, help: 'further days with one database copy a day [30]' },
  IMAGE_OPTIONS.find((o) => o.key === 'log-level')!,
  ...ALERT_OPTIONS,
]

// Settings of `sd-backup database`.
export const DATABASE_OPTIONS: readonly OptionSpec[] = [
  { key: 'db', type: 'string', multiple: true, help: 'SQLite database to copy; repeat for several [/home/*/BirdNET-Pi/scripts/birds.db]' },
  IMAGE_OPTIONS.find((o) => o.key === 'dest')!,
  IMAGE_OPTIONS.find((o) => o.key === 'mount')!,
  IMAGE_OPTIONS.find((o) => o.key === 'station')!,
  IMAGE_OPTIONS.find((o) => o.key === 'dest-group')!,
  { key: 'db-level', type: 'int', min: 1, max: 19, help: 'zstd level for database copies [3]' },
  { key: 'tmp-dir', type: 'string', help: 'where the copy is checked before compression [the system temp dir]' },
  IMAGE_OPTIONS.find((o) => o.key === 'log-level')!,
  ...ALERT_OPTIONS,
]

// Settings of `sd-backup files`.
export const FILES_OPTIONS: readonly OptionSpec[] = [
  { key: 'path', type: 'string', multiple: true, help: 'file or directory to back up; repeat for several [see below]' },
  { key: 'once-a-day', type: 'bool', help: "if today's snapshot exists, do nothing and exit 0 (for the timer's DST fallback)" },
  { key: 'exclude', type: 'string', multiple: true, help: 'glob of absolute paths to leave out (* ** ?); repeatable [see below]' },
  IMAGE_OPTIONS.find((o) => o.key === 'dest')!,
  IMAGE_OPTIONS.find((o) => o.key === 'mount')!,
  IMAGE_OPTIONS.find((o) => o.key === 'station')!,
  IMAGE_OPTIONS.find((o) => o.key === 'dest-group')!,
  IMAGE_OPTIONS.find((o) => o.key === 'log-level')!,
  ...ALERT_OPTIONS,
]

// Settings of `sd-backup status`.
export const STATUS_OPTIONS: readonly OptionSpec[] = [
  IMAGE_OPTIONS.find((o) => o.key === 'dest')!,
  IMAGE_OPTIONS.find((o) => o.key === 'mount')!,
  IMAGE_OPTIONS.find((o) => o.key === 'station')!,
  { key: 'json', type: 'bool', help: 'print the statuses as JSON instead of the table' },
]

// Settings of `sd-backup alert`.
export const ALERT_COMMAND_OPTIONS: readonly OptionSpec[] = [
  { key: 'test', type: 'bool', help: 'send a test alert now' },
  IMAGE_OPTIONS.find((o) => o.key === 'station')!,
  ...ALERT_OPTIONS,
]

const WORKERS_DECODE: OptionSpec = { key: 'workers', type: 'int', min: 1, max: 64, help: 'decompression threads [one per core]' }
const JSON_OUTPUT: OptionSpec = { key: 'json', type: 'bool', help: 'print the result as JSON' }

// Settings of `sd-backup verify FILE`.
export const VERIFY_OPTIONS: readonly OptionSpec[] = [
  { key: 'device', type: 'string', help: 'image: check that this card (or file) holds the image, by the member digests; reads the card and the manifest, not the image' },
  { key: 'bmap', type: 'bool', help: "with --device: only the ranges the image's .bmap maps (a card written with --bmap or bmaptool keeps its old free space)" },
  WORKERS_DECODE,
  DATABASE_OPTIONS.find((o) => o.key === 'tmp-dir')!,
  JSON_OUTPUT,
  IMAGE_OPTIONS.find((o) => o.key === 'log-level')!,
]

// Settings of `sd-backup list`.
export const LIST_OPTIONS: readonly OptionSpec[] = [
  IMAGE_OPTIONS.find((o) => o.key === 'dest')!,
  IMAGE_OPTIONS.find((o) => o.key === 'mount')!,
  { ...IMAGE_OPTIONS.find((o) => o.key === 'station')!, help: 'only this station [every station under --dest]' },
  { key: 'kind', type: 'enum', values: ['image', 'database', 'files'], help: 'only backups of this kind' },
  JSON_OUTPUT,
]

// Settings of `sd-backup restore FILE`.
export const RESTORE_OPTIONS: readonly OptionSpec[] = [
  { key: 'device', type: 'string', help: 'image: the card to write, a whole disk (/dev/sda); refused when mounted or the system disk' },
  { key: 'output', type: 'string', help: 'image: a sparse .img file to write; database: the .db file to write (never overwritten)' },
  { key: 'target', type: 'string', help: 'files snapshot: the directory to restore below (/ puts /etc/hosts back in place)' },
  { key: 'yes', type: 'bool', help: 'do not ask before overwriting the device or a non-empty --target' },
  { key: 'verify', type: 'bool', help: 'image to --device: read the card back afterwards and compare the SHA-256 [false]' },
  { key: 'bmap', type: 'bool', help: "image to --device: write only the blocks the image's .bmap maps (used blocks), like bmaptool copy" },
  { key: 'keep-setuid', type: 'bool', help: 'files snapshot: apply setuid/setgid bits from the manifest (off: a snapshot on a shared NAS must not hand out root) [false]' },
  WORKERS_DECODE,
  IMAGE_OPTIONS.find((o) => o.key === 'log-level')!,
]

// Every key any job knows: what a config file may contain (a job reads its own).
export const ALL_OPTIONS: readonly OptionSpec[] = [...new Map([...IMAGE_OPTIONS, ...CLEANUP_OPTIONS, ...STATUS_OPTIONS, ...ALERT_OPTIONS, ...DATABASE_OPTIONS, ...FILES_OPTIONS, ...LIST_OPTIONS, ...RESTORE_OPTIONS].map((o) => [o.key, o])).values()]
