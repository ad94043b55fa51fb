import { ClockDoubtError, type ExitName } from '../errors.js'
import { CLEANUP_OPTIONS, settingOr } from '../config/options.js'
import { runCleanup } from '../retention/run-cleanup.js'
import { formatBytes } from '../util/size.js'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND, NAS_CHECKS, SIGNALS } from './exit-groups.js'
import { commandSettings, exitCodeLines } from './common.js'
import { optionHelp } from './parse-flags.js'
import { runJob } from '../jobs/run-job.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [
  ...ANY_COMMAND,
  ...NAS_CHECKS,
  'SDB_DEST_WRITE',
  'SDB_JOB_LOCKED',
  'SDB_LOCK_UNREADABLE',
  'SDB_CLOCK_DOUBT',
  ...SIGNALS,
]

export const CLEANUP_HELP = `Usage: sd-backup cleanup [options]

Applies the retention policy to this station's backups on the NAS and removes
what it no longer needs, printing each decision with its reason. It never
removes the newest complete backup of a kind, anything a running job holds, or
any file whose name the tool did not write. Partial files of crashed runs are
removed once older than a day. Warns when the NAS lacks room for the next
weekly image (newest image x 1.2).

It manages DEST/STATION/images/, database/ and files/; the manifest of a copy
goes first, so an interrupted cleanup leaves an incomplete backup, removed later.

Options (each is also a config key, e.g. in a [cleanup] section):
  --config FILE              config file [$SD_BACKUP_CONFIG, /etc/sd-backup/sd-backup.conf]
${optionHelp(CLEANUP_OPTIONS)}
  -h, --help                 this text

Example:
  sd-backup cleanup --dest /mnt/nas/backups --keep-weekly 7 --dry-run

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup cleanup`: flags and config → runCleanup, decisions printed one per line.
export async function cmdCleanup(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, CLEANUP_OPTIONS, CLEANUP_HELP, io, 'cleanup')
  if (!got) return 0
  const dryRun = settingOr(got.s, 'dry-run')
  return runJob(
    io,
    'cleanup',
    got.s,
    async ({ s, dest, mount, station, log, signal }) => {
      const policy = {
        keepWeekly: settingOr(s, 'keep-weekly'),
        keepDaily: settingOr(s, 'keep-daily'),
        keepHourly: settingOr(s, 'keep-hourly'),
        keepDailyDatabase: settingOr(s, 'keep-daily-database'),
      }
      const r = await runCleanup({ dest, mount, station, policy, dryRun }, { log, signal })
      for (const d of r.decisions) {
        const verb = d.action === 'keep' ? 'keep  ' : dryRun ? 'would remove' : 'removed'
        io.stderr.write(`${verb.padEnd(12)} ${d.backup.name}  (${d.reason})\n`)
      }
      io.stderr.write(
        `${dryRun ? 'dry run: nothing removed' : `freed ${formatBytes(r.freedBytes)}`}; ` +
          `${formatBytes(r.availableBytes)} free on the NAS after cleanup\n`,
      )
      if (r.spaceWarning) io.stderr.write(`warning: ${r.spaceWarning}\n`)
      if (r.clockWarning) io.stderr.write(`warning: nothing removed: ${r.clockWarning}\n`)
      const removed = r.decisions.filter((d) => d.action === 'remove').length
      const message =
        `removed ${removed}, freed ` + `${formatBytes(r.freedBytes)}${r.spaceWarning ? `; ${r.spaceWarning}` : ''}`
      // A clock in doubt is reported like a failure (status and alert), though nothing was harmed.
      return { message, ...(r.clockWarning ? { failure: new ClockDoubtError(r.clockWarning) } : {}) }
    },
    { record: !dryRun },
  )
}
