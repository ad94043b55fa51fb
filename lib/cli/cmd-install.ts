import { execFile } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { promisify } from 'node:util'
import { INSTALL_OPTIONS as OPTIONS, setting, settingOr } from '../config/options.js'
import { planInstall, planUninstall, removeFiles, writePlan } from '../install/install-units.js'
import type { CliIo } from './cli-io.js'
import { commandSettings, exitCodeLines } from './common.js'
import { optionHelp, parseFlags } from './parse-flags.js'
import { ANY_COMMAND } from './exit-groups.js'

const exitCodes = exitCodeLines(ANY_COMMAND)

export const INSTALL_HELP = `Usage: sd-backup install [--dry-run] [--root DIR]

Writes the four systemd services and timers (database hourly at :15, files daily
at 02:00, image Sunday 03:00, cleanup daily at 02:30) to /etc/systemd/system with
this machine's node and the NAS mount from the config, writes a commented
/etc/sd-backup/sd-backup.conf if none exists (an existing one is never
touched), then runs systemctl daemon-reload and enable --now for the timers.
Undo with 'sd-backup uninstall'.

Options:
  --config FILE              config file to read the NAS mount from
${optionHelp(OPTIONS)}
  -h, --help                 this text

Exit codes:
${exitCodes}
`

export const UNINSTALL_HELP = `Usage: sd-backup uninstall [--dry-run] [--root DIR]

Stops and disables the sd-backup timers and removes their units. The config
(/etc/sd-backup/) and every backup on the NAS stay.

Options:
${optionHelp(OPTIONS)}
  -h, --help                 this text

Exit codes:
${exitCodes}
`

type Run = (cmd: string, args: readonly string[]) => Promise<unknown>
const runReal: Run = (cmd, args) => promisify(execFile)(cmd, [...args])

// `sd-backup install`: units rendered for this machine, config if missing, timers on.
export async function cmdInstall(args: readonly string[], io: CliIo, run: Run = runReal): Promise<number> {
  const got = await commandSettings(args, OPTIONS, INSTALL_HELP, io, 'install')
  if (!got) return 0
  const { s } = got
  const root = settingOr(s, 'root')
  const exec = [process.execPath, realpathSync(process.argv[1] ?? 'sd-backup')]
  const plan = await planInstall({ root, exec, mount: setting(s, 'mount') })
  const dry = settingOr(s, 'install-dry-run')
  for (const f of plan.files) io.stdout.write(`${dry ? 'would write' : 'write'} ${f.path}\n`)
  if (plan.configKept) io.stdout.write(`keep ${plan.configKept} (exists)\n`)
  if (!dry) await writePlan(plan)
  for (const c of plan.commands) {
    io.stdout.write(`${dry || root !== '/' ? 'would run' : 'run'} ${c.join(' ')}\n`)
    if (!dry && root === '/') await run(c[0]!, c.slice(1))
  }
  return 0
}

// `sd-backup uninstall`: timers off, units gone; config and backups stay.
export async function cmdUninstall(args: readonly string[], io: CliIo, run: Run = runReal): Promise<number> {
  const flags = parseFlags(args, OPTIONS)
  if (flags.help) {
    io.stdout.write(UNINSTALL_HELP)
    return 0
  }
  const root = settingOr(flags.values, 'root')
  const dry = settingOr(flags.values, 'install-dry-run')
  const plan = await planUninstall(root)
  for (const c of plan.commands.slice(0, 1)) {
    io.stdout.write(`${dry || root !== '/' ? 'would run' : 'run'} ${c.join(' ')}\n`)
    if (!dry && root === '/') await run(c[0]!, c.slice(1)).catch(() => undefined) // timers may be gone already
  }
  for (const f of plan.files) io.stdout.write(`${dry ? 'would remove' : 'remove'} ${f}\n`)
  if (!dry) await removeFiles(plan.files)
  for (const c of plan.commands.slice(1)) {
    io.stdout.write(`${dry || root !== '/' ? 'would run' : 'run'} ${c.join(' ')}\n`)
    if (!dry && root === '/') await run(c[0]!, c.slice(1))
  }
  return 0
}
