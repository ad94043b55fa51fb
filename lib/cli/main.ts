import { exitCodeFor, SdBackupError, UsageError } from '../errors.js'
import { VERSION } from '../version.js'
import type { CliIo } from './cli-io.js'
import { cmdAlert } from './cmd-alert.js'
import { cmdCleanup } from './cmd-cleanup.js'
import { cmdDatabase } from './cmd-database.js'
import { cmdFiles } from './cmd-files.js'
import { cmdImage } from './cmd-image.js'
import { cmdInstall, cmdUninstall } from './cmd-install.js'
import { cmdStatus } from './cmd-status.js'
import { cmdList } from './cmd-list.js'
import { cmdRestore } from './cmd-restore.js'
import { cmdVerify } from './cmd-verify.js'
import { cmdSampleConfig } from './cmd-sample-config.js'

const COMMANDS: Record<string, { run: (args: readonly string[], io: CliIo) => Promise<number>; summary: string }> = {
  database: {
    run: cmdDatabase,
    summary: 'consistent copies of the SQLite databases while they are written (hourly timer)',
  },
  files: {
    run: cmdFiles,
    summary: 'dated snapshot of config, scripts and data, unchanged files hard-linked (daily timer)',
  },
  image: { run: cmdImage, summary: 'stream the SD card through parallel gzip onto the NAS (weekly timer)' },
  status: {
    run: (args, io) => cmdStatus(args, io),
    summary: 'a row per timer, a column per station: last result, age, next run',
  },
  list: { run: cmdList, summary: 'the backups on the NAS: date, size, restored size, verified state, age' },
  verify: { run: cmdVerify, summary: 'prove a backup (image, database copy, snapshot) matches its manifest' },
  restore: { run: cmdRestore, summary: 'write an image to a card or a sparse file; a database copy; a snapshot' },
  alert: { run: cmdAlert, summary: 'send a test alert (--test) with the configured mail settings' },
  cleanup: { run: cmdCleanup, summary: "apply the retention policy to this station's backups (--dry-run shows why)" },
  install: {
    run: (a, io) => cmdInstall(a, io),
    summary: 'write the systemd units and a default config, enable the timers',
  },
  'sample-config': { run: cmdSampleConfig, summary: 'print a config file with every key and its default' },
  uninstall: {
    run: (a, io) => cmdUninstall(a, io),
    summary: 'disable the timers and remove the units (config and backups stay)',
  },
}

export const MAIN_HELP = `Usage: sd-backup <command> [options]

Backups for Raspberry Pi stations, written straight onto a NAS.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`)
  .join('\n')}

Run 'sd-backup <command> --help' for its options and exit codes.
Config: --config FILE, else $SD_BACKUP_CONFIG, else /etc/sd-backup/sd-backup.conf.
`

// The whole CLI as a function: argv in, exit code out. The one place errors become codes.
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(MAIN_HELP)
      return name === undefined ? 2 : 0
    }
    if (name === '--version' || name === '-V') {
      io.stdout.write(`sd-backup ${VERSION}\n`)
      return 0
    }
    const cmd = COMMANDS[name]
    if (!cmd) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`)
    return await cmd.run(rest, io)
  } catch (err) {
    const explained = err instanceof SdBackupError
    io.stderr.write(
      `sd-backup${name && name !== '' ? ` ${name}` : ''}: ` +
        `${explained ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`,
    )
    return exitCodeFor(err)
  }
}
