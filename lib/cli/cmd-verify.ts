import { VERIFY_OPTIONS } from '../config/options.js'
import { UsageError } from '../errors.js'
import { createLogger } from '../log/logger.js'
import { formatBytes, formatDuration } from '../util/size.js'
import { verifyBackup } from '../verify/verify-backup.js'
import os from 'node:os'
import type { CliIo } from './cli-io.js'
import { commandSettings, exitCodeLines, progressFor, withSignals } from './common.js'
import { optionHelp } from './parse-flags.js'

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

Options:
${optionHelp(VERIFY_OPTIONS)}
  -h, --help                 this text

Example:
  sd-backup verify /mnt/nas/backups/zolder/images/zolder-2026-11-22.img.gz

Exit codes:
${exitCodeLines([0, 1, 2, 3, 12, 17, 18, 19, 20, 21, 22, 130, 143])}
`

// `sd-backup verify FILE`: one backup checked, the verdict on stdout.
export async function cmdVerify(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, VERIFY_OPTIONS, VERIFY_HELP, io, 'verify', 1)
  if (!got) return 0
  const [target] = got.positionals
  if (!target) throw new UsageError('verify needs the backup to check: sd-backup verify FILE (see --help)')
  const { s } = got
  const log = createLogger(io.sink, (s['log-level'] as string | undefined) ?? 'warn').child({ job: 'verify' })
  const report = await withSignals(io, (signal) =>
    verifyBackup(target, { workers: (s.workers as number | undefined) ?? os.availableParallelism(), tmpDir: s['tmp-dir'] as string | undefined, signal, progress: progressFor(io, log) }),
  )
  log.info({ report }, `verified ${target}`)
  if (s.json === true) io.stdout.write(`${JSON.stringify({ result: 'ok', ...report }, null, 2)}\n`)
  else io.stdout.write(`OK ${report.kind} ${target}: ${report.detail}; ${formatBytes(report.rawBytes)} in ${formatDuration(report.seconds)}\n`)
  return 0
}
