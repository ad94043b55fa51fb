import { CONFIG_SECTIONS } from './config-file.js'
import { COMMAND_OPTIONS, defaultText, type OptionKey, type OptionSpec } from './options.js'

// systemd/sd-backup.conf, rendered from the option table: every key with its help
// and its default, so the sample can never miss a key or show a stale default
// (a test compares the file with this). `npm run sample-config` rewrites it.

const HEADER = `# /etc/sd-backup/sd-backup.conf: settings for sd-backup.
# Every key can also be given as a flag (--key value), which wins over this file.
# Keys outside a [section] apply to every job; [image] applies to \`sd-backup image\`.
# A key set twice in one section is an error (list keys such as db add up).
# Another file: --config FILE or SD_BACKUP_CONFIG=FILE. Check with: sd-backup image --help
# Commented lines show the default; uncomment a line to change it.
`

const INTRO: Partial<Record<(typeof CONFIG_SECTIONS)[number] | 'global', string>> = {
  global: `The NAS mount point and the backup root are required. A job refuses to run unless
the NAS is really mounted: an unmounted mount point is just a directory on the SD
card, which would fill up. Alerts: test them with sd-backup alert --test.`,
  image: 'The weekly image of the card (sd-backup image --help).',
  database: 'The hourly SQLite copies. The files job leaves these databases (and their -wal/-shm) out.',
  files: 'The daily snapshot: what it holds and what it leaves out (recordings: see README).',
  cleanup: 'Retention: the newest of each are never removed for their age alone; a clock in doubt removes nothing.',
}

// Keys set in the sample rather than shown commented out: a job cannot run without them.
const SET = new Set<OptionKey>(['mount', 'dest'])

// Where a key goes: the shared part when two or more commands read it there, else its first command's section.
function placement(): Map<string, OptionSpec[]> {
  const out = new Map<string, OptionSpec[]>([
    ['global', []],
    ...CONFIG_SECTIONS.map((s) => [s, []] as [string, OptionSpec[]]),
  ])
  const seen = new Set<OptionKey>()
  const users = (key: OptionKey) =>
    Object.entries(COMMAND_OPTIONS).filter(([, specs]) => specs.some((o) => o.key === key))
  for (const [section, specs] of Object.entries(COMMAND_OPTIONS)) {
    for (const o of specs) {
      if (seen.has(o.key) || o.flagOnly) continue
      seen.add(o.key)
      out.get(!o.sectionOnly && users(o.key).length > 1 ? 'global' : section)!.push(o)
    }
  }
  return out
}

function comment(text: string): string {
  return text
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n')
}

function line(o: OptionSpec): string {
  const d = defaultText(o)
  const help = comment(`${o.help}${d === undefined ? '' : ` [${d}]`}`)
  const value =
    o.default !== undefined ? (Array.isArray(o.default) ? o.default.join(', ') : String(o.default)) : o.example
  if (value === undefined) return `${help}\n# ${o.name} =`
  return `${help}\n${SET.has(o.key) ? '' : '# '}${o.name} = ${value}`
}

export function renderSampleConfig(): string {
  const parts = [HEADER]
  for (const [section, specs] of placement()) {
    if (specs.length === 0) continue
    const intro = INTRO[section as keyof typeof INTRO]
    const head = section === 'global' ? '' : `[${section}]\n`
    parts.push(`${head}${[intro ? comment(intro) : '', ...specs.map(line)].filter(Boolean).join('\n\n')}\n`)
  }
  return parts.join('\n')
}
