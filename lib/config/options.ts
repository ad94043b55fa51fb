import { CODEC_NAMES, CODECS } from '../codec/registry.js'
import { ConfigError } from '../errors.js'
import { formatBytes, parseSize } from '../util/size.js'

// One table describes every setting: it drives flag parsing, config-file validation,
// --help, the sample config (systemd/sd-backup.conf) and the defaults the jobs use,
// so a key can never be a flag but not a config key, nor have two defaults.
interface SpecBody {
  readonly type: 'string' | 'int' | 'size' | 'bool' | 'enum'
  readonly help: string
  /** The value when the key is not set; --help and the sample config show it. */
  readonly default?: OptionValue
  /** A default that depends on something else (the host, the codec), in words. */
  readonly defaultText?: string
  /** A sample value for the sample config, where there is no default to show. */
  readonly example?: string
  /** The flag and config-file name, when it is not the table's key (see sectionOnly). */
  readonly name?: string
  /**
   * The key means something else in another command (restore's verify is not the
   * image's): it is read from its command's [section] and flags only, never from
   * the keys every job shares.
   */
  readonly sectionOnly?: boolean
  /** Taken from the command line only: a config file must never aim a restore at a disk, nor hand out setuid bits. */
  readonly flagOnly?: boolean
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

const STATION = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const codecLine = (pick: (c: (typeof CODECS)[keyof typeof CODECS]) => string) =>
  CODEC_NAMES.map((c) => `${c} ${pick(CODECS[c])}`).join(', ')

// Every setting, by a key that is unique even where two commands share a flag name.
export const SPECS = {
  // Where the backups go: every job.
  dest: {
    type: 'string',
    help: "backup root on the NAS; a station's backups go to DEST/STATION/",
    example: '/mnt/nas/backups',
  },
  mount: {
    type: 'string',
    help: 'NAS mount point: must be mounted, and --dest must lie inside it',
    example: '/mnt/nas',
  },
  station: {
    type: 'string',
    pattern: STATION,
    patternHelp: "letters, digits, '.', '_' and '-'",
    help: 'station name used in paths',
    defaultText: 'the hostname',
    example: 'zolder',
  },
  'dest-group': {
    type: 'string',
    help: 'group that may read the backups: files 0640 and directories 0750 in that group',
    defaultText: 'none: 0600/0700',
    example: 'backup',
  },
  'log-level': {
    type: 'enum',
    values: ['debug', 'info', 'warn', 'error'],
    help: 'log level (verify and restore: warn)',
    default: 'info',
  },
  // E-mail alerts: every job and `sd-backup alert`.
  'smtp-host': { type: 'string', help: 'SMTP server for alerts; no alerts without it', example: 'smtp.example.org' },
  'smtp-port': {
    type: 'int',
    min: 1,
    max: 65535,
    help: 'SMTP port',
    defaultText: '587, or 465 with smtp-tls',
    example: '587',
  },
  'smtp-tls': { type: 'bool', help: 'implicit TLS (port 465); otherwise STARTTLS when offered', default: false },
  'smtp-user': { type: 'string', help: 'SMTP login', example: 'pi@example.org' },
  'smtp-password': { type: 'string', help: 'SMTP password (keep the config file mode 600)', example: 'secret' },
  'mail-from': {
    type: 'string',
    help: 'sender address',
    defaultText: 'sd-backup@HOSTNAME',
    example: 'zolder@example.org',
  },
  'mail-to': { type: 'string', help: 'recipients, comma-separated', example: 'owner@example.org' },
  'mail-on-success': {
    type: 'string',
    pattern: /^[a-z,]+$/,
    patternHelp: 'job names separated by commas (image,files) or none',
    help: 'jobs that also mail on success, comma-separated, or none',
    default: 'image',
  },
  'mail-retries': { type: 'int', min: 1, max: 20, help: 'attempts to send an alert before giving up', default: 4 },
  'mail-retry-delay': {
    type: 'int',
    min: 0,
    max: 3600,
    help: 'seconds before the first retry, doubling after',
    default: 5,
  },
  'max-age-database': {
    type: 'int',
    min: 1,
    max: 100000,
    help: 'hours without a good database copy before alerting',
    default: 3,
  },
  'max-age-files': {
    type: 'int',
    min: 1,
    max: 100000,
    help: 'hours without a good file snapshot before alerting',
    default: 30,
  },
  'max-age-image': {
    type: 'int',
    min: 1,
    max: 100000,
    help: 'hours without a good image before alerting',
    default: 192,
  },
  // sd-backup image
  device: {
    type: 'string',
    help: 'block device or image file to back up',
    defaultText: 'the disk holding /',
    example: '/dev/mmcblk0',
  },
  compress: { type: 'enum', values: CODEC_NAMES, help: codecLine((c) => `(${c.help})`), default: 'gzip' },
  level: {
    type: 'int',
    min: 0,
    max: 19,
    help: 'compression level: higher is smaller and slower',
    defaultText: codecLine((c) => `${c.levels.min}-${c.levels.max}: ${c.levels.default}`),
    example: '6',
  },
  workers: { type: 'int', min: 1, max: 64, help: 'compression threads', defaultText: 'one per core', example: '4' },
  'chunk-size': {
    type: 'size',
    min: 64 * 1024,
    max: 256 * 1024 ** 2,
    help: 'bytes per member (gzip member, zstd frame)',
    defaultText: codecLine((c) => formatBytes(c.defaultChunkSize)),
    example: '4M',
  },
  'min-free': {
    type: 'size',
    help: 'free space required on the NAS',
    defaultText: 'previous image x 1.2',
    example: '50G',
  },
  'progress-interval': {
    type: 'int',
    min: 1,
    max: 86400,
    help: 'seconds between progress log lines when not on a terminal',
    default: 30,
  },
  full: {
    type: 'bool',
    help: 'read every byte of the card, free space included (off: only what the filesystems use)',
    default: false,
  },
  'skip-tail': {
    type: 'bool',
    help: 'leave unpartitioned space after the last partition out (zeros in the image)',
    default: false,
  },
  'before-image': {
    type: 'string',
    help: 'shell command run before reading',
    example: 'systemctl stop birdnet_recording',
  },
  'after-image': {
    type: 'string',
    help: 'shell command run after reading, even when the image failed',
    example: 'systemctl start birdnet_recording',
  },
  'command-timeout': {
    type: 'int',
    min: 1,
    max: 86400,
    help: 'seconds before-image/after-image may take',
    default: 300,
  },
  verify: {
    type: 'bool',
    help: 'read the image back and check every member against its SHA-256 (--no-verify skips)',
    default: true,
  },
  'whole-sha256': {
    type: 'bool',
    help: 'also record one SHA-256 of the whole image (a pass over every byte, free space included)',
    default: false,
  },
  // sd-backup database
  db: {
    type: 'string',
    multiple: true,
    help: 'SQLite database to copy; repeat for several',
    defaultText: '/home/*/BirdNET-Pi/scripts/birds.db',
    example: '/home/pi/BirdNET-Pi/scripts/birds.db',
  },
  'db-level': { type: 'int', min: 1, max: 19, help: 'zstd level for database copies', default: 3 },
  'tmp-dir': {
    type: 'string',
    help: 'where a database copy is checked, or restore --shrink stages an image (room for its data)',
    defaultText: 'the system temp dir',
    example: '/var/tmp',
  },
  // sd-backup files
  path: {
    type: 'string',
    multiple: true,
    help: 'file or directory to back up; repeat for several',
    defaultText: 'see sd-backup files --help',
    example: '/etc, /home, /root',
  },
  exclude: {
    type: 'string',
    multiple: true,
    help: 'glob of absolute paths to leave out (* ** ?); repeatable',
    defaultText: 'see sd-backup files --help',
    example: '**/BirdSongs/**, **/.cache/**',
  },
  'once-a-day': {
    type: 'bool',
    help: "if today's snapshot exists, do nothing and exit 0 (for the timer's DST fallback)",
    default: false,
  },
  // sd-backup cleanup
  'dry-run': {
    type: 'bool',
    sectionOnly: true,
    help: 'show what would be removed, and why, without removing anything',
    default: false,
  },
  'keep-weekly': { type: 'int', min: 0, max: 1000, help: 'weekly images to keep', default: 7 },
  'keep-daily': { type: 'int', min: 0, max: 10000, help: 'days of daily file snapshots to keep', default: 14 },
  'keep-hourly': { type: 'int', min: 0, max: 100000, help: 'hours of hourly database copies to keep', default: 48 },
  'keep-daily-database': {
    type: 'int',
    min: 0,
    max: 10000,
    help: 'further days with one database copy a day',
    default: 30,
  },
  // sd-backup status, list, verify
  json: { type: 'bool', sectionOnly: true, help: 'print the result as JSON', default: false },
  kind: {
    type: 'enum',
    values: ['image', 'database', 'files'],
    sectionOnly: true,
    help: 'only backups of this kind',
    example: 'image',
  },
  'list-station': {
    name: 'station',
    type: 'string',
    sectionOnly: true,
    pattern: STATION,
    patternHelp: "letters, digits, '.', '_' and '-'",
    help: 'only this station',
    defaultText: 'every station under --dest',
    example: 'zolder',
  },
  'check-device': {
    flagOnly: true,
    name: 'device',
    type: 'string',
    sectionOnly: true,
    help:
      'image: check that this card (or file) holds the image, by the member digests; reads the card and the ' +
      'manifest, not the image',
    example: '/dev/sda',
  },
  'check-bmap': {
    flagOnly: true,
    name: 'bmap',
    type: 'bool',
    sectionOnly: true,
    help:
      "with --device: only the ranges the image's .bmap maps (a card written with --bmap or bmaptool keeps " +
      'its old free space)',
    default: false,
  },
  'decode-workers': {
    name: 'workers',
    type: 'int',
    min: 1,
    max: 64,
    sectionOnly: true,
    help: 'decompression threads',
    defaultText: 'one per core',
    example: '4',
  },
  // sd-backup alert
  test: { type: 'bool', sectionOnly: true, help: 'send a test alert now', default: false },
  // sd-backup restore
  'restore-device': {
    flagOnly: true,
    name: 'device',
    type: 'string',
    sectionOnly: true,
    help: 'image: the card to write, a whole disk (/dev/sda); refused when mounted or the system disk',
    example: '/dev/sda',
  },
  output: {
    flagOnly: true,
    type: 'string',
    sectionOnly: true,
    help: 'image: a sparse .img file to write; database: the .db file to write (never overwritten)',
    example: '/var/tmp/card.img',
  },
  target: {
    flagOnly: true,
    type: 'string',
    sectionOnly: true,
    help: 'files snapshot: the directory to restore below (/ puts /etc/hosts back in place)',
    example: '/',
  },
  yes: {
    flagOnly: true,
    type: 'bool',
    sectionOnly: true,
    help: 'do not ask before overwriting the device or a non-empty --target',
    default: false,
  },
  'read-back': {
    name: 'verify',
    type: 'bool',
    sectionOnly: true,
    help: 'image to --device: read the card back afterwards and compare the SHA-256',
    default: false,
  },
  'restore-bmap': {
    flagOnly: true,
    name: 'bmap',
    type: 'bool',
    sectionOnly: true,
    help: "image to --device: write only the blocks the image's .bmap maps (used blocks), like bmaptool copy",
    default: false,
  },
  shrink: {
    flagOnly: true,
    type: 'bool',
    sectionOnly: true,
    help:
      'image: fit a card smaller than the image but large enough for its data: the root filesystem is shrunk ' +
      '(e2fsck, resize2fs) in a copy staged in --tmp-dir, and grows back at first boot',
    default: false,
  },
  // sd-backup install
  'install-dry-run': {
    name: 'dry-run',
    type: 'bool',
    sectionOnly: true,
    help: 'print what would be written and run; change nothing',
    default: false,
  },
  root: {
    type: 'string',
    sectionOnly: true,
    help: 'install below this directory instead of / (systemctl is then not run)',
    default: '/',
  },
  'keep-setuid': {
    flagOnly: true,
    type: 'bool',
    sectionOnly: true,
    help:
      'files snapshot: apply setuid/setgid bits from the manifest (off: a snapshot on a shared NAS must not ' +
      'hand out root)',
    default: false,
  },
} as const satisfies Record<string, SpecBody>

export type OptionKey = keyof typeof SPECS

// A spec with its key and its name on the command line and in the file.
export interface OptionSpec extends SpecBody {
  readonly key: OptionKey
  readonly name: string
}

function spec(key: OptionKey): OptionSpec {
  const body: SpecBody = SPECS[key]
  return { ...body, key, name: body.name ?? key }
}

// The specs of one command, in the order its --help shows them.
function specs(...keys: OptionKey[]): readonly OptionSpec[] {
  return keys.map(spec)
}

type ValueOf<S> = S extends { multiple: true }
  ? readonly string[]
  : S extends { type: 'int' | 'size' }
    ? number
    : S extends { type: 'bool' }
      ? boolean
      : S extends { values: readonly (infer V)[] }
        ? V
        : string

/** The type a key's value has, from its spec. */
export type OptionType<K extends OptionKey> = ValueOf<(typeof SPECS)[K]>

type WithDefault = { [K in OptionKey]: (typeof SPECS)[K] extends { default: OptionValue } ? K : never }[OptionKey]

// A setting's value, typed by its spec: a misspelt key does not compile.
export function setting<K extends OptionKey>(s: OptionValues, key: K): OptionType<K> | undefined {
  return s[spec(key).name] as OptionType<K> | undefined
}

// A setting's value or its spec's default (only for keys that have one).
export function settingOr<K extends WithDefault>(s: OptionValues, key: K): OptionType<K> {
  return (setting(s, key) ?? (SPECS[key] as SpecBody).default) as OptionType<K>
}

// The default as --help and the sample config show it.
export function defaultText(o: SpecBody): string | undefined {
  if (o.defaultText !== undefined) return o.defaultText
  if (o.default === undefined) return undefined
  return Array.isArray(o.default) ? o.default.join(', ') : String(o.default)
}

// Turns the text of one setting into its typed value, or a ConfigError naming the key.
export function parseOptionValue(spec: OptionSpec, text: string, file?: string, line?: number): OptionValue {
  if (spec.multiple)
    return text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
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

const ALERT = [
  'smtp-host',
  'smtp-port',
  'smtp-tls',
  'smtp-user',
  'smtp-password',
  'mail-from',
  'mail-to',
  'mail-on-success',
  'mail-retries',
  'mail-retry-delay',
  'max-age-database',
  'max-age-files',
  'max-age-image',
] as const
const WHERE = ['dest', 'mount', 'station', 'dest-group'] as const

// E-mail alerts, shared by every job and by `sd-backup alert`.
export const ALERT_OPTIONS = specs(...ALERT)

// Settings of each command.
export const IMAGE_OPTIONS = specs(
  'device',
  ...WHERE,
  'compress',
  'level',
  'workers',
  'chunk-size',
  'min-free',
  'progress-interval',
  'full',
  'skip-tail',
  'before-image',
  'after-image',
  'command-timeout',
  'verify',
  'whole-sha256',
  'log-level',
  ...ALERT,
)
export const CLEANUP_OPTIONS = specs(
  ...WHERE,
  'dry-run',
  'keep-weekly',
  'keep-daily',
  'keep-hourly',
  'keep-daily-database',
  'log-level',
  ...ALERT,
)
export const DATABASE_OPTIONS = specs('db', ...WHERE, 'db-level', 'tmp-dir', 'log-level', ...ALERT)
export const FILES_OPTIONS = specs('path', 'once-a-day', 'exclude', ...WHERE, 'log-level', ...ALERT)
export const STATUS_OPTIONS = specs('dest', 'mount', 'station', 'json')
export const ALERT_COMMAND_OPTIONS = specs('test', 'station', ...ALERT)
export const VERIFY_OPTIONS = specs('check-device', 'check-bmap', 'decode-workers', 'tmp-dir', 'json', 'log-level')
export const LIST_OPTIONS = specs('dest', 'mount', 'list-station', 'kind', 'json')
export const INSTALL_OPTIONS = specs('install-dry-run', 'root')
export const RESTORE_OPTIONS = specs(
  'restore-device',
  'output',
  'target',
  'yes',
  'read-back',
  'restore-bmap',
  'shrink',
  'tmp-dir',
  'keep-setuid',
  'decode-workers',
  'log-level',
)

// Every setting: what a config file may contain (a job reads its own).
export const ALL_OPTIONS: readonly OptionSpec[] = (Object.keys(SPECS) as OptionKey[]).map(spec)

// Each command's settings, by its config-file section.
export const COMMAND_OPTIONS = {
  image: IMAGE_OPTIONS,
  database: DATABASE_OPTIONS,
  files: FILES_OPTIONS,
  cleanup: CLEANUP_OPTIONS,
  status: STATUS_OPTIONS,
  alert: ALERT_COMMAND_OPTIONS,
  verify: VERIFY_OPTIONS,
  list: LIST_OPTIONS,
  restore: RESTORE_OPTIONS,
  install: INSTALL_OPTIONS,
} as const satisfies Record<string, readonly OptionSpec[]>
