import { setting, settingOr, VERIFY_OPTIONS } from '../config/options.js'
import { type ExitName, UsageError } from '../errors.js'
import { createLogger } from '../log/logger.js'
import { formatBytes, formatDuration } from '../util/size.js'
import { checkCard } from '../restore/check-card.js'
import { backupKind } from '../dest/backup-kind.js'
import { verifyBackup } from '../verify/verify-backup.js'
import os from 'node:os'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND, SIGNALS, VERIFICATION } from './exit-groups.js'
import { commandSettings, exitCodeLines, progressFor } from './common.js'
import { withSignals } from '../jobs/with-signals.js'
import { optionHelp } from './parse-flags.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [
  ...ANY_COMMAND,
  'SDB_SOURCE_UNREADABLE',
  'SDB_WORKER_CRASHED',
  ...VERIFICATION,
  'SDB_READBACK_MISMATCH',
  ...SIGNALS,
]

export const VERIFY_HELP = `Usage: sd-backup verify FILE [options]

Proves that a backup restores to exactly what was backed up, reading nothing but
the backup and its manifest:

  image (.img.gz/.img.zst)  every member decoded and hashed on worker threads and
                            checked against its CRC-32, length and SHA-256, the
                            file's size against the manifest (a file cut exactly
                            between two members passes 'gzip -t', not this), then
                            the root of the member digests (images from before
                            0.2: the SHA-256 of the whole image). A member of
                            zeros written as the image job writes zeros is
                            compared byte for byte instead of decoded.
  database copy (.db.zst)   decoded to --tmp-dir, SHA-256, integrity_check and the
                            row count of every table against the manifest
  files snapshot (a dir)    every file's size and SHA-256, every directory and
                            symlink against the snapshot's manifest

Each way a backup can be wrong has its own exit code (below).

Does a card hold an image?  sd-backup verify IMAGE.img.gz --device /dev/sda [--bmap]
  reads the card (read only; any card or file) and checks every member's range
  against its SHA-256, ranges of zeros byte for byte, on worker threads: the
  card restored from this image passes, a card that lost or changed a byte
  fails with exit 30 and the member that differs. Free space is zeros in an
  image of used blocks, so a card written with --bmap or by bmaptool (which
  leave the old free space) is checked with --bmap: only the mapped ranges,
  against the .bmap's SHA-256. --device and --bmap are command-line only.

Options:
${optionHelp(VERIFY_OPTIONS)}
  -h, --help                 this text

Examples:
  sd-backup verify /mnt/nas/backups/zolder/images/zolder-2026-11-22.img.gz
  sd-backup verify /mnt/nas/backups/zolder/images/zolder-2026-11-22.img.gz --device /dev/sda

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup verify FILE`: one backup checked, the verdict on stdout.
export async function cmdVerify(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, VERIFY_OPTIONS, VERIFY_HELP, io, 'verify', 1)
  if (!got) return 0
  const [target] = got.positionals
  if (!target) throw new UsageError('verify needs the backup to check: sd-backup verify FILE (see --help)')
  const { s, flags } = got
  const log = createLogger(io.sink, setting(s, 'log-level') ?? 'warn').child({ job: 'verify' })
  const workers = setting(s, 'decode-workers') ?? os.availableParallelism()
  const device = setting(flags, 'check-device')
  const bmap = settingOr(flags, 'check-bmap')
  if (bmap && !device) throw new UsageError('--bmap goes with --device: sd-backup verify IMAGE --device DEV --bmap')
  if (device) {
    if ((await backupKind(target)) !== 'image')
      throw new UsageError(`--device checks a card against an image; ${target} is not an image`)
    const started = Date.now()
    const r = await withSignals(io.signals, (signal) =>
      checkCard(target, device, { workers, bmap: bmap, signal, progress: progressFor(io, log) }),
    )
    const what = bmap
      ? `${r.ranges} ranges the .bmap maps`
      : r.manifest.raw.root === undefined
        ? "the whole image's SHA-256"
        : `${r.ranges} members`
    const report = {
      kind: 'card',
      path: device,
      image: target,
      checkedBytes: r.checkedBytes,
      ranges: r.ranges,
      seconds: (Date.now() - started) / 1000,
    }
    log.info({ report }, `checked ${device} against ${target}`)
    if (settingOr(s, 'json')) io.stdout.write(`${JSON.stringify({ result: 'ok', ...report }, null, 2)}\n`)
    else
      io.stdout.write(
        `OK card ${device} holds ${target}: ${what} read back as recorded; ${formatBytes(r.checkedBytes)} in ` +
          `${formatDuration(report.seconds)}\n`,
      )
    return 0
  }
  const report = await withSignals(io.signals, (signal) =>
    verifyBackup(target, { workers, tmpDir: setting(s, 'tmp-dir'), signal, progress: progressFor(io, log) }),
  )
  log.info({ report }, `verified ${target}`)
  if (settingOr(s, 'json')) io.stdout.write(`${JSON.stringify({ result: 'ok', ...report }, null, 2)}\n`)
  else
    io.stdout.write(
      `OK ${report.kind} ${target}: ${report.detail}; ${formatBytes(report.rawBytes)} in ` +
        `${formatDuration(report.seconds)}\n`,
    )
  return 0
}
