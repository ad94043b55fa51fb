import { stat } from 'node:fs/promises'
import type { ParsedConfig } from '../config/config-file.js'
import { loadConfig, settingsFor, type LoadedConfig } from '../config/load-config.js'
import { ALL_OPTIONS, type OptionSpec, type OptionValues } from '../config/options.js'
import { parseFlags } from './parse-flags.js'
export { requireDest, stationOf } from '../config/common-settings.js'
import { EXIT_CODE_HELP, EXIT_TABLE, type ExitName } from '../errors.js'
import { Progress } from '../log/progress.js'
import type { Logger } from 'pino'
import type { CliIo } from './cli-io.js'

// What every command shares: its settings, the help's exit-code lines, progress.

// The --help lines of the outcomes a command can end with (all of them when omitted).
export function exitCodeLines(codes?: readonly ExitName[]): string {
  const exits = codes && new Set<number>(codes.map((c) => EXIT_TABLE[c].exit))
  return EXIT_CODE_HELP.filter(([c]) => !exits || exits.has(c))
    .map(([c, t]) => `  ${String(c).padStart(3)}  ${t}`)
    .join('\n')
}

// Flags, then the config file's global keys and [section]: a command's settings.
// Undefined when --help was asked for (and printed).
export async function commandSettings(
  args: readonly string[],
  specs: readonly OptionSpec[],
  help: string,
  io: CliIo,
  section: string,
  maxPositionals = 0,
): Promise<
  | {
      s: OptionValues
      configFile: string | undefined
      positionals: string[]
      flags: OptionValues
      config: ParsedConfig
    }
  | undefined
> {
  const flags = parseFlags(args, specs, maxPositionals)
  if (flags.help) {
    io.stdout.write(help)
    return undefined
  }
  const config = await loadConfig(ALL_OPTIONS, flags.config, io.env, io.defaultConfigPath)
  await warnIfSecretReadable(config, io)
  return {
    s: settingsFor(config, section, flags.values, specs),
    configFile: config.file,
    positionals: flags.positionals,
    flags: flags.values,
    config,
  }
}

// A config that holds smtp-password must not be readable by others: said once per run.
async function warnIfSecretReadable(config: LoadedConfig, io: CliIo): Promise<void> {
  if (!config.file || ![config.global, ...Object.values(config.sections)].some((v) => v['smtp-password'] !== undefined))
    return
  const st = await stat(config.file).catch(() => undefined)
  if (st && st.mode & 0o077) {
    io.stderr.write(
      `warning: ${config.file} holds smtp-password and is readable by others (mode ` +
        `${(st.mode & 0o777).toString(8)}): chmod 600 ${config.file}\n`,
    )
  }
}

// A live progress line on a terminal, log lines elsewhere.
export function progressFor(io: CliIo, log: Logger): (total: number, label: string) => Progress {
  return (total, label) =>
    new Progress(total, { tty: io.stderr.isTTY ? io.stderr : undefined, log, intervalSeconds: 30, label })
}
