import { parseArgs } from 'node:util'
import { UsageError } from '../errors.js'
import { defaultText, parseOptionValue, type OptionSpec, type OptionValues } from '../config/options.js'

export interface ParsedFlags {
  readonly help: boolean
  readonly config: string | undefined
  readonly values: OptionValues
  readonly positionals: string[]
}

// Every config key is also a --flag; values are validated exactly as in the file.
export function parseFlags(args: readonly string[], specs: readonly OptionSpec[], maxPositionals = 0): ParsedFlags {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string' },
  }
  for (const s of specs) {
    options[s.name] = { type: s.type === 'bool' ? 'boolean' : 'string', ...(s.multiple ? { multiple: true } : {}) }
    // Every boolean can be turned off again on the command line (--no-verify).
    if (s.type === 'bool') options[`no-${s.name}`] = { type: 'boolean' }
  }
  let parsed
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true })
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('. ')[0]} (see --help)`)
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[maxPositionals]}' (see --help)`)
  }
  const values: OptionValues = {}
  for (const s of specs) {
    const v = parsed.values[s.name] ?? (parsed.values[`no-${s.name}`] === true ? false : undefined)
    if (v === undefined) continue
    values[s.name] =
      typeof v === 'boolean' ? v : Array.isArray(v) ? v.map(String) : parseOptionValue(s, String(v), 'command line')
  }
  return {
    help: parsed.values.help === true,
    config: parsed.values.config as string | undefined,
    values,
    positionals: parsed.positionals,
  }
}

// The option table as help text, one flag per line, each with its default.
export function optionHelp(specs: readonly OptionSpec[]): string {
  return specs
    .map((s) => {
      const arg =
        s.type === 'bool'
          ? ''
          : s.type === 'enum'
            ? ` ${s.values?.join('|')}`
            : ` ${s.type === 'size' ? 'SIZE' : s.type === 'int' ? 'N' : 'VALUE'}`
      const d = defaultText(s)
      return `  --${(s.name + arg).padEnd(26)} ${s.help}${d === undefined ? '' : ` [${d}]`}`
    })
    .join('\n')
}
