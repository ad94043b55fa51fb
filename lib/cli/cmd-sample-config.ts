import { renderSampleConfig } from '../config/sample-config.js'
import { UsageError, type ExitName } from '../errors.js'
import type { CliIo } from './cli-io.js'
import { exitCodeLines } from './common.js'

const EXITS: readonly ExitName[] = ['OK', 'SDB_INTERNAL', 'SDB_USAGE']

export const SAMPLE_CONFIG_HELP = `Usage: sd-backup sample-config > sd-backup.conf

Prints a config file with every key, its help and its default, commented out
except mount and dest. It is the file \`sd-backup install\` puts in
/etc/sd-backup/ when none is there; compare yours with it after an upgrade.

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup sample-config`: the option table as a config file.
export async function cmdSampleConfig(args: readonly string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(SAMPLE_CONFIG_HELP)
    return 0
  }
  if (args.length > 0) throw new UsageError(`sample-config takes no arguments, got '${args[0]}' (see --help)`)
  io.stdout.write(renderSampleConfig())
  return 0
}
