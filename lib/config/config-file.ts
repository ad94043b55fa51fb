import { ConfigError } from '../errors.js'
import { COMMAND_OPTIONS, parseOptionValue, type OptionSpec, type OptionValues } from './options.js'

// The hand-edited file: `key = value` lines, `#` comments, optional `[job]` sections.
// Keys outside a section apply to every job; a section's keys apply to that job only.
export interface ParsedConfig {
  readonly global: OptionValues
  readonly sections: Readonly<Record<string, OptionValues>>
}

// The sections a config file may have: one per command.
export const CONFIG_SECTIONS = [
  'image',
  'database',
  'files',
  'cleanup',
  'status',
  'alert',
  'verify',
  'list',
  'restore',
  'install',
] as const

// Parses and validates the text; every error names the file, the line and the key.
// A key given twice in one section is an error (which one was meant?), except a
// list key (db, path, exclude), whose lines add up; so is a section no command reads.
export function parseConfigText(text: string, file: string, specs: readonly OptionSpec[]): ParsedConfig {
  const known: readonly string[] = CONFIG_SECTIONS
  // By name; where commands share a name (verify, workers), every spec of it has one type.
  const byKey = new Map<string, OptionSpec>()
  for (const s of specs) if (!byKey.has(s.name) || byKey.get(s.name)!.sectionOnly) byKey.set(s.name, s)
  const global: OptionValues = {}
  const sections: Record<string, OptionValues> = {}
  let current = global
  let own: readonly OptionSpec[] = []
  text.split('\n').forEach((raw, i) => {
    const line = i + 1
    const body = stripComment(raw).trim()
    if (body === '') return
    const section = /^\[([^\]]*)\]$/.exec(body)
    if (section) {
      const name = section[1]!.trim().toLowerCase()
      if (!known.includes(name))
        throw new ConfigError(`[${section[1]}]`, `unknown section (known sections: ${known.join(', ')})`, file, line)
      current = sections[name] ??= {}
      own = COMMAND_OPTIONS[name as keyof typeof COMMAND_OPTIONS] ?? []
      return
    }
    const kv = /^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*)$/.exec(body)
    if (!kv) throw new ConfigError(body, "is not a 'key = value' line", file, line)
    const key = kv[1]!.toLowerCase().replaceAll('_', '-')
    // In a [section], the name means what that command means by it (restore's device).
    const spec = own.find((o) => o.name === key) ?? byKey.get(key)
    if (!spec) {
      throw new ConfigError(key, `unknown key (known keys: ${[...byKey.keys()].join(', ')})`, file, line)
    }
    if (spec.flagOnly)
      throw new ConfigError(
        key,
        'is taken from the command line only: what a restore or a check is aimed at is never a standing setting',
        file,
        line,
      )
    const value = parseOptionValue(spec, unquote(kv[2]!), file, line)
    const before = current[key]
    if (before !== undefined && !spec.multiple)
      throw new ConfigError(key, 'is set twice in this section: keep one line', file, line)
    current[key] = before !== undefined ? [...(before as readonly string[]), ...(value as readonly string[])] : value
  })
  return { global, sections }
}

// A '#' starts a comment unless it is inside quotes.
function stripComment(line: string): string {
  let quote = ''
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote) {
      if (c === quote) quote = ''
    } else if (c === '"' || c === "'") quote = c
    else if (c === '#') return line.slice(0, i)
  }
  return line
}

function unquote(v: string): string {
  const t = v.trim()
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0]) return t.slice(1, -1)
  return t
}
