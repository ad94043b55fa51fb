import { setting, settingOr, STATUS_OPTIONS } from '../config/options.js'
import { findStations, nextRunsFromSystemd } from '../status/find-stations.js'
import { statusTable } from '../status/status-table.js'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND, NAS_CHECKS } from './exit-groups.js'
import { commandSettings, exitCodeLines, requireDest, stationOf } from './common.js'
import { optionHelp } from './parse-flags.js'
import { checkMounted } from '../dest/check-mount.js'
import { type ExitName } from '../errors.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [...ANY_COMMAND, ...NAS_CHECKS]

export const STATUS_HELP = `Usage: sd-backup status [options]

Prints the station handbook's table: a row per timer, a column per station found
on the NAS, each cell the last result and its age ("OK 3h ago", "FAILED 2d ago",
"never"), and for this station the next run systemd has planned. Every job
writes DEST/STATION/status.json when it ends, so any Pi shows every station.

Options:
  --config FILE              config file [$SD_BACKUP_CONFIG, /etc/sd-backup/sd-backup.conf]
${optionHelp(STATUS_OPTIONS)}
  -h, --help                 this text

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup status`: reads every station's status.json and prints the table.
export async function cmdStatus(
  args: readonly string[],
  io: CliIo,
  now = new Date(),
  nextRuns = nextRunsFromSystemd,
): Promise<number> {
  const got = await commandSettings(args, STATUS_OPTIONS, STATUS_HELP, io, 'status')
  if (!got) return 0
  const { s } = got
  const dest = requireDest(s)
  const mount = setting(s, 'mount')
  if (mount !== undefined) await checkMounted(mount, dest)
  const here = stationOf(s)
  const stations = await findStations(dest)
  const next = { [here]: await nextRuns() }
  io.stdout.write(
    settingOr(s, 'json')
      ? `${JSON.stringify({ now: now.toISOString(), stations, next }, null, 2)}\n`
      : statusTable(stations, now, next),
  )
  return 0
}
