import { DATABASE_OPTIONS, FILES_OPTIONS, setting, settingOr } from '../config/options.js'
import { settingsFor } from '../config/load-config.js'
import { runFiles } from '../files/run-files.js'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND, NAS_CHECKS, JOB_WRITES, SIGNALS } from './exit-groups.js'
import { commandSettings, exitCodeLines } from './common.js'
import { optionHelp } from './parse-flags.js'
import { defaultDatabases } from '../database/default-databases.js'
import { DEFAULT_PATHS, DEFAULT_EXCLUDES } from '../files/default-paths.js'
import { runJob } from '../jobs/run-job.js'
import { type ExitName } from '../errors.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [
  ...ANY_COMMAND,
  ...NAS_CHECKS,
  ...JOB_WRITES,
  'PARTIAL_UNREADABLE',
  'PARTIAL_VANISHED',
  'PARTIAL_CHANGED',
  ...SIGNALS,
]

export const FILES_HELP = `Usage: sd-backup files [--path P]... [--exclude GLOB]... [options]

A dated snapshot of config, scripts and data on the NAS, in pure Node:
DEST/STATION/files/YYYY-MM-DD/ mirrors the absolute paths. Files unchanged since
the previous snapshot (same size and mtime in its manifest) are hard-linked to
it, so a day costs only what changed. Owner, group and mode cannot be kept on a
root-squashed export: they go into the snapshot's .sd-backup-manifest.json with
mtime, size and SHA-256, and restore applies them. The snapshot is built as
YYYY-MM-DD.in-progress-PID and renamed when complete.

Each file is opened without following symlinks and checked to be the file that
was listed. A file that changes while it is copied is copied once more; if it
changes again, the bytes read are stored, with their size and SHA-256, and the
entry is marked as changed. A file that cannot be read (or named on the NAS), or
vanishes, or keeps changing is listed and counted, and the run ends as partial
(exit 23, 24 or 33, as rsync does); only errors on the NAS fail the run.

The SQLite databases of the database job (db = ..., else BirdNET-Pi's birds.db)
and their -wal/-shm/-journal files are left out: a live database copied byte by
byte is not a backup; the hourly copy is. A --path that is a symlink is kept as
the link and followed.

Default paths: ${DEFAULT_PATHS.join(' ')}
Default excludes: ${DEFAULT_EXCLUDES.join(' ')}
(recordings stay out: they are in the weekly image and described in birds.db)

Options (each is also a config key; path = A, B in the file):
  --config FILE              config file [$SD_BACKUP_CONFIG, /etc/sd-backup/sd-backup.conf]
${optionHelp(FILES_OPTIONS)}
  -h, --help                 this text

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup files`: flags and config → runFiles; partial runs exit 23/24.
export async function cmdFiles(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, FILES_OPTIONS, FILES_HELP, io, 'files')
  if (!got) return 0
  const databases = setting(settingsFor(got.config, 'database', {}, DATABASE_OPTIONS), 'db') ?? defaultDatabases()
  return runJob(io, 'files', got.s, async ({ s, dest, mount, station, log, signal }) => {
    const paths = setting(s, 'path') ?? DEFAULT_PATHS
    const excludes = setting(s, 'exclude') ?? DEFAULT_EXCLUDES
    const m = await runFiles(
      { paths, excludes, dest, mount, station, onceADay: settingOr(s, 'once-a-day'), databases },
      { log, signal },
    )
    if (!m) {
      log.info("today's snapshot exists already: nothing to do (--once-a-day)")
      return { message: 'nothing to do', unrecorded: true }
    }
    const files = m.entries.filter((e) => e.type === 'file').length
    const changed = m.changed ?? []
    const problems = [
      ...m.unreadable.map((p) => `unreadable: ${p}`),
      ...m.vanished.map((p) => `vanished: ${p}`),
      ...changed.map((p) => `changed while copied (stored as read): ${p}`),
    ]
    const text =
      `files ${m.result === 'ok' ? 'done' : 'PARTIAL'}: snapshot ${m.snapshot}, ${files} ` +
      `files${problems.length ? `; ${problems.length} not copied whole:\n${problems.join('\n')}` : ''}`
    const partial = m.unreadable.length
      ? 'PARTIAL_UNREADABLE'
      : m.vanished.length
        ? 'PARTIAL_VANISHED'
        : changed.length
          ? 'PARTIAL_CHANGED'
          : undefined
    log.info({ snapshot: m.snapshot, files, unreadable: m.unreadable, vanished: m.vanished, changed }, text)
    if (problems.length) io.stderr.write(`${text}\n`)
    return { message: text, ...(partial ? { partial } : {}) }
  })
}
