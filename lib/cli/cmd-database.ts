import os from 'node:os'
import { DATABASE_OPTIONS, setting, settingOr } from '../config/options.js'
import { ConfigError, type ExitName } from '../errors.js'
import { runDatabase } from '../database/run-database.js'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND, NAS_CHECKS, JOB_WRITES, SIGNALS } from './exit-groups.js'
import { commandSettings, exitCodeLines } from './common.js'
import { optionHelp } from './parse-flags.js'
import { defaultDatabases } from '../database/default-databases.js'
import { runJob } from '../jobs/run-job.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [...ANY_COMMAND, ...NAS_CHECKS, ...JOB_WRITES, 'SDB_DATABASE_COPY', ...SIGNALS]

export const DATABASE_HELP = `Usage: sd-backup database [--db PATH]... [options]

Copies each SQLite database consistently while its writer keeps writing (one
VACUUM INTO: BirdNET's WAL-mode detection service is never blocked), checks the
copy with PRAGMA integrity_check, and writes it zstd-compressed to
DEST/STATION/database/NAME-YYYY-MM-DDTHHMM.db.zst with a manifest (SHA-256,
size, rows per table). Restore: zstd -d FILE -o birds.db

Options (each is also a config key; db = A, B in the file):
  --config FILE              config file [$SD_BACKUP_CONFIG, /etc/sd-backup/sd-backup.conf]
${optionHelp(DATABASE_OPTIONS)}
  -h, --help                 this text

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup database`: flags and config → runDatabase, result recorded and alerted.
export async function cmdDatabase(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, DATABASE_OPTIONS, DATABASE_HELP, io, 'database')
  if (!got) return 0
  const dbs = setting(got.s, 'db') ?? defaultDatabases()
  if (dbs.length === 0)
    throw new ConfigError('db', 'no database given and no /home/*/BirdNET-Pi/scripts/birds.db found: set db = PATH')
  return runJob(io, 'database', got.s, async ({ s, dest, mount, station, log, signal }) => {
    const done = await runDatabase(
      { dbs, dest, mount, station, level: settingOr(s, 'db-level'), tmpDir: setting(s, 'tmp-dir') ?? os.tmpdir() },
      { log, signal },
    )
    const text = done
      .map(
        (m) =>
          `${m.file}: ${Object.entries(m.rowCounts)
            .map(([t, n]) => `${t} ${n} rows`)
            .join(', ')}`,
      )
      .join('; ')
    log.info({ copies: done.map((m) => m.file) }, `database done: ${text}`)
    return { message: `database done: ${text}` }
  })
}
