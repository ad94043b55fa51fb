import { readFile } from 'node:fs/promises'
import { ConfigError } from '../errors.js'
import { parseConfigText, type ParsedConfig } from './config-file.js'
import type { OptionSpec, OptionValues } from './options.js'

// Where the config lives when neither --config nor SD_BACKUP_CONFIG says otherwise.
export const DEFAULT_CONFIG_PATH = '/etc/sd-backup/sd-backup.conf'

export interface LoadedConfig extends ParsedConfig {
  /** The file that was read, or undefined when none exists. */
  readonly file: string | undefined
}

// Finds the config: --config FILE, then $SD_BACKUP_CONFIG, then the default path.
// A file named explicitly must exist; the default one is optional.
export async function loadConfig(
  specs: readonly OptionSpec[],
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  defaultPath = DEFAULT_CONFIG_PATH,
): Promise<LoadedConfig> {
  const named = explicit ?? env.SD_BACKUP_CONFIG
  const file = named ?? defaultPath
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (named === undefined && code === 'ENOENT') return { file: undefined, global: {}, sections: {} }
    const via = explicit !== undefined ? '--config' : named !== undefined ? 'SD_BACKUP_CONFIG' : 'default config'
    throw new ConfigError('config', `cannot read ${file} (from ${via}): ${code ?? String(err)}`)
  }
  return { file, ...parseConfigText(text, file, specs) }
}

// Settings for one job: global keys, then the job's section, then the flags. A key
// whose meaning is this command's own (restore's verify) is never taken from the
// global keys, which another command's meaning of it set.
export function settingsFor(
  config: ParsedConfig,
  job: string,
  flags: OptionValues,
  specs: readonly OptionSpec[],
): OptionValues {
  const own = new Set(specs.filter((s) => s.sectionOnly).map((s) => s.name))
  const global = Object.fromEntries(Object.entries(config.global).filter(([k]) => !own.has(k)))
  return { ...global, ...config.sections[job], ...flags }
}
