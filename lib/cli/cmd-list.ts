import { LIST_OPTIONS, setting, settingOr } from '../config/options.js'
import { listBackups, type ListedBackup } from '../list/list-backups.js'
import { ago } from '../status/status-table.js'
import { formatBytes } from '../util/size.js'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND, NAS_CHECKS } from './exit-groups.js'
import { commandSettings, exitCodeLines, requireDest } from './common.js'
import { optionHelp } from './parse-flags.js'
import { checkMounted } from '../dest/check-mount.js'
import { type ExitName } from '../errors.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [...ANY_COMMAND, ...NAS_CHECKS]

export const LIST_HELP = `Usage: sd-backup list [options]

Lists the backups on the NAS, every station's unless --station: date, size on
the NAS, size restored, the smallest card an image restores to with
'restore --shrink' (estimated from the manifest: its data plus a margin of
10%, at least 256 MiB; the restore asks resize2fs for the exact minimum, which
on a small card may be a few MiB more), state and age. States:
  verified    an image read back and checked after it was written
  checked     a database copy that passed integrity_check / a snapshot whose
              files were hashed as they were copied
  unverified  an image taken with --no-verify (run 'sd-backup verify')
  failed      its verification failed: do not rely on it
  incomplete  no manifest: the run never finished (cleanup removes it)
  partial     the leftover of an unfinished run (cleanup removes it)

Options (each is also a config key):
  --config FILE              config file [$SD_BACKUP_CONFIG, /etc/sd-backup/sd-backup.conf]
${optionHelp(LIST_OPTIONS)}
  -h, --help                 this text

Example:
  sd-backup list --dest /mnt/nas/backups --kind image

Exit codes:
${exitCodeLines(EXITS)}
`

// The rows as a table, sizes and ages as people read them.
export function listTable(rows: readonly ListedBackup[]): string {
  const head = ['STATION', 'KIND', 'DATE', 'NAME', 'SIZE', 'RAW', 'SMALLEST CARD', 'STATE', 'AGE']
  const cells = rows.map((r) => [
    r.station,
    r.kind,
    r.date.slice(0, 16).replace('T', ' '),
    r.name,
    r.compressedBytes === null ? '-' : formatBytes(r.compressedBytes),
    r.rawBytes === null ? '-' : formatBytes(r.rawBytes),
    r.smallestCardBytes === null ? '-' : formatBytes(r.smallestCardBytes),
    r.state,
    ago(r.ageSeconds * 1000),
  ])
  const widths = head.map((_, i) => Math.max(...[head, ...cells].map((c) => c[i]!.length)))
  return (
    [head, ...cells]
      .map((c) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  '))
      .join('\n') + '\n'
  )
}

// `sd-backup list`: what is on the NAS and whether it can be trusted.
export async function cmdList(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, LIST_OPTIONS, LIST_HELP, io, 'list')
  if (!got) return 0
  const { s } = got
  const dest = requireDest(s)
  const mount = setting(s, 'mount')
  if (mount !== undefined) await checkMounted(mount, dest)
  // The station key may name this host's station in the config; --station on the command line filters.
  const station = setting(got.flags, 'list-station')
  const rows = await listBackups(dest, { station, kind: setting(s, 'kind') }, new Date())
  if (settingOr(s, 'json')) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
  else io.stdout.write(rows.length ? listTable(rows) : `no backups under ${dest}${station ? ` for ${station}` : ''}\n`)
  return 0
}
