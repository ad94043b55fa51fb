import os from 'node:os'
import { DATABASE_OPTIONS, setting, settingOr } from '../config/options.js'
import { ConfigError } from '../errors.js'
import { runDatabase } from '../database/run-database.js'
import { finishJob } from '../jobs/finish-job.js'
import type { CliIo } from './cli-io.js'
import { commandSettings, exitCodeLines, jobContext, requireDest, stationOf, withSignals } from './common.js'
import { optionHelp } from './parse-flags.js'
import { defaultDatabases } from '../database/default-databases.js'

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
${exitCodeLines(['OK', 'SDB_INTERNAL', 'SDB_USAGE', 'SDB_CONFIG', 'SDB_NAS_NOT_MOUNTED', 'SDB_DEST_OUTSIDE_MOUNT', 'SDB_DEST_NOT_WRITABLE', 'SDB_BACKUP_EXISTS', 'SDB_DEST_FULL', 'SDB_DEST_WRITE', 'SDB_JOB_LOCKED', 'SDB_LOCK_UNREADABLE', 'SDB_DATABASE_COPY', 'SDB_INTERRUPTED', 'SIGTERM'])}
`

// `sd-backup database`: flags and config → runDatabase, result recorded and alerted.
export async function cmdDatabase(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, DATABASE_OPTIONS, DATABASE_HELP, io, 'database')
  if (!got) return 0
  const { s } = got
  const dest = requireDest(s)
  const dbs = setting(s, 'db') ?? defaultDatabases()
  if (dbs.length === 0) throw new ConfigError('db', 'no database given and no /home/*/BirdNET-Pi/scripts/birds.db found: set db = PATH')
  const station = stationOf(s)
  const job = jobContext(io, s, 'database', dest, station)
  const { log } = job
  return withSignals(io, async (signal) => {
    try {
      const done = await runDatabase(
        { dbs, dest, mount: setting(s, 'mount'), station, level: settingOr(s, 'db-level'), tmpDir: setting(s, 'tmp-dir') ?? os.tmpdir() },
        { log, signal },
      )
      const text = done.map((m) => `${m.file}: ${Object.entries(m.rowCounts).map(([t, n]) => `${t} ${n} rows`).join(', ')}`).join('; ')
      log.info({ copies: done.map((m) => m.file) }, `database done: ${text}`)
      await finishJob({ ...job, outcome: { ok: true, message: `database done: ${text}` } })
      return 0
    } catch (err) {
      log.error({ err }, (err as Error).message)
      await finishJob({ ...job, outcome: { ok: false, error: err } })
      throw err
    }
  })
}
