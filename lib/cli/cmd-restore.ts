import { readdir } from 'node:fs/promises'
import os from 'node:os'
import { RESTORE_OPTIONS, setting, settingOr } from '../config/options.js'
import { decodeDatabaseCopy } from '../database/decode-copy.js'
import { type ExitName, NotConfirmedError, UsageError } from '../errors.js'
import { restoreSnapshot } from '../restore/restore-snapshot.js'
import { digestText } from '../dest/image-manifest.js'
import { createLogger } from '../log/logger.js'
import { restoreImageToDevice, restoreImageToFile } from '../restore/restore-image.js'
import { restoreShrunkToDevice, restoreShrunkToFile } from '../restore/shrink-image.js'
import type { TargetDevice } from '../restore/check-target.js'
import { formatBytes } from '../util/size.js'
import { backupKind } from '../dest/backup-kind.js'
import { askYes } from './ask-yes.js'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND, SIGNALS, VERIFICATION } from './exit-groups.js'
import { commandSettings, exitCodeLines, progressFor } from './common.js'
import { withSignals } from '../jobs/with-signals.js'
import { optionHelp } from './parse-flags.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [
  ...ANY_COMMAND,
  'SDB_SOURCE_UNREADABLE',
  'SDB_DEST_WRITE',
  'SDB_WORKER_CRASHED',
  ...VERIFICATION,
  'SDB_TARGET_IN_USE',
  'SDB_TARGET_SYSTEM_DISK',
  'SDB_TARGET_TOO_SMALL',
  'SDB_NOT_CONFIRMED',
  'SDB_TARGET_EXISTS',
  'SDB_READBACK_MISMATCH',
  'SDB_TARGET_BLOCKED',
  'SDB_SHRINK_REFUSED',
  ...SIGNALS,
]

export const RESTORE_HELP = `Usage: sd-backup restore FILE (--device DEV | --output FILE | --target DIR) [options]

Restores a backup, checking it as it goes (every member's CRC-32 and length,
the SHA-256 of the whole image):

  image → card        sd-backup restore IMAGE.img.gz --device /dev/sda [--verify]
      Refuses the disk the system runs from, the disk holding the backup, a
      partition instead of a whole disk, a card with anything mounted, and a card
      too small (saying by how many bytes). Shows the card's model and size and
      asks you to type yes, unless --yes. --verify reads the card back after
      writing and compares the SHA-256. --bmap writes only the blocks the
      image's .bmap maps (what the filesystems used; free space on the card is
      left as it is), like 'bmaptool copy'; with --verify each mapped range is
      read back against the .bmap's SHA-256.
  image → file        sd-backup restore IMAGE.img.gz --output card.img
      Runs of zeros become holes: the file takes what the card held. For a
      used-block image that is the mapped ranges of its .bmap, or less.
  image → smaller card  sd-backup restore IMAGE.img.gz --device /dev/sda --shrink
      For a card smaller than the image but large enough for its data ('list'
      shows each image's smallest card): the image is staged in --tmp-dir, its
      root filesystem (the last partition, ext4) checked with e2fsck -f and
      shrunk with resize2fs to fit the card, keeping 10% of its data free (at
      least 256 MiB); the partition table (MBR, or GPT with its backup moved to
      the new end) is rewritten, then the table, boot partition and used blocks
      are written, and read back with --verify. Raspberry Pi OS grows the root
      back to fill the card at first boot (init=.../firstboot in cmdline.txt);
      otherwise run 'sudo raspi-config nonint do_expand_rootfs' once booted.
      With --output FILE --shrink, FILE is the smallest image (like PiShrink).
  database copy       sd-backup restore birds-...db.zst --output birds.db
      Decoded, then checked (SHA-256, integrity_check, row counts) before it
      appears under its name. Stop BirdNET before putting it in place.
  files snapshot      sd-backup restore .../files/2026-11-22 --target /
      Files, directories and symlinks below --target, with owner, group, mode
      and mtime from the manifest (owners only when run as root; setuid and
      setgid bits only with --keep-setuid). Every path must stay below --target
      (else exit 18, before anything is written); nothing is written through a
      symlink, and the snapshot's own symlinks are made last. Existing files
      there are replaced: a non-empty --target asks first, unless --yes.

Nothing restores from a backup whose manifest is missing or that fails its
checks. An --output file is never overwritten. The image format is plain gzip:
'gunzip -c IMAGE.img.gz | dd of=/dev/sdX bs=4M' gives the same bytes.

--device, --output, --target, --yes, --bmap, --shrink and --keep-setuid are taken from the command line only,
never from the config file.

Options:
${optionHelp(RESTORE_OPTIONS)}
  -h, --help                 this text

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup restore FILE`: an image onto a card or into a file, a database copy
// into a file, a snapshot into a directory.
export async function cmdRestore(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, RESTORE_OPTIONS, RESTORE_HELP, io, 'restore', 1)
  if (!got) return 0
  const [source] = got.positionals
  if (!source)
    throw new UsageError(
      'restore needs the backup to restore: sd-backup restore FILE --device DEV|--output FILE|--target DIR (see ' +
        '--help)',
    )
  const { s, flags } = got
  // Where to write comes from the command line alone: a config key must never aim a restore at a disk.
  const device = setting(flags, 'restore-device')
  const output = setting(flags, 'output')
  const target = setting(flags, 'target')
  const yes = settingOr(flags, 'yes')
  const log = createLogger(io.sink, setting(s, 'log-level') ?? 'warn').child({ job: 'restore' })
  const workers = setting(s, 'decode-workers') ?? os.availableParallelism()
  const kind = await backupKind(source)
  const need = (what: string) =>
    new UsageError(
      `restoring ${{ image: 'an image', database: 'a database copy', files: 'a files snapshot' }[kind]} needs ` +
        `${what} (see --help)`,
    )
  const say = (text: string) => io.stderr.write(`${text}\n`)
  const confirmOn = async (t: TargetDevice, img: { bytes: number; file: string }) => {
    say(
      `about to overwrite ${t.path} (${t.model}, ${formatBytes(t.size)}) with ${img.file} ` +
        `(${formatBytes(img.bytes)}); everything on it is lost`,
    )
    if (yes) return true
    const answer = await askYes(io, `type yes to continue: `)
    if (answer === undefined)
      throw new NotConfirmedError(t.path, 'there is no terminal to ask on; pass --yes to confirm from a script')
    return answer
  }
  return withSignals(io.signals, async (signal) => {
    if (kind === 'image') {
      if ((device === undefined) === (output === undefined)) throw need('exactly one of --device DEV or --output FILE')
      const progress = progressFor(io, log)
      if (settingOr(flags, 'shrink')) {
        if (settingOr(flags, 'restore-bmap'))
          throw new UsageError('--shrink writes only the used blocks already: leave out --bmap')
        const shrink = { workers, signal, progress, tmpDir: setting(s, 'tmp-dir') ?? os.tmpdir(), say }
        const sizes = (r: { rootBytes: number; originalRootBytes: number }) =>
          r.rootBytes < r.originalRootBytes
            ? `root filesystem shrunk from ${formatBytes(r.originalRootBytes)} to ${formatBytes(r.rootBytes)}`
            : 'root filesystem kept at its size'
        if (output !== undefined) {
          const r = await restoreShrunkToFile(source, output, shrink)
          say(`restored ${formatBytes(r.bytes)} to ${output} (${sizes(r)}; ${formatBytes(r.written)} written)`)
          return 0
        }
        const r = await restoreShrunkToDevice(source, device!, {
          ...shrink,
          readBack: settingOr(s, 'read-back'),
          confirm: confirmOn,
        })
        say(
          `restored ${formatBytes(r.bytes)} to ${r.target.path} (${r.target.model}): ${sizes(r)}, ` +
            `${formatBytes(r.written)} written${r.readBack ? ', read back and compared' : ''}`,
        )
        return 0
      }
      if (output !== undefined) {
        const r = await restoreImageToFile(source, output, { workers, signal, progress })
        say(
          `restored ${formatBytes(r.bytes)} to ${output} (${formatBytes(r.written)} of data, the rest holes); ` +
            `${digestText(r)} as recorded`,
        )
        return 0
      }
      const r = await restoreImageToDevice(source, device!, {
        workers,
        signal,
        progress,
        readBack: settingOr(s, 'read-back'),
        bmap: settingOr(flags, 'restore-bmap'),
        confirm: confirmOn,
      })
      const mapped = r.written < r.bytes ? ` (${formatBytes(r.written)} written: the blocks the .bmap maps)` : ''
      say(
        `restored ${formatBytes(r.bytes)} to ${r.target.path} (${r.target.model})${mapped}; ` +
          `${digestText(r)}${r.readBack ? ', read back and compared' : ''}`,
      )
      return 0
    }
    if (kind === 'database') {
      if (output === undefined) throw need('--output FILE')
      const r = await decodeDatabaseCopy(source, output, { keep: true })
      say(
        `restored ${formatBytes(r.manifest.raw.bytes)} to ${output}: SHA-256, integrity_check and row counts as ` +
          `recorded`,
      )
      return 0
    }
    if (target === undefined) throw need('--target DIR')
    const entries = await readdir(target).catch(() => [])
    if (entries.length > 0 && !yes) {
      const answer = await askYes(
        io,
        `${target} is not empty: files restored there replace what is at the same paths. type yes to continue: `,
      )
      if (answer === undefined)
        throw new NotConfirmedError(target, 'it is not empty and there is no terminal to ask on; pass --yes')
      if (!answer) throw new NotConfirmedError(target, 'the answer was not yes')
    }
    const r = await restoreSnapshot(source, target, { keepSetuid: settingOr(flags, 'keep-setuid') })
    say(
      `restored ${r.restored} entries below ` +
        `${target}${r.owners ? ' with owners, modes and times' : ' with modes and times (owners need root)'}`,
    )
    if (r.setidDropped)
      say(`setuid/setgid bits of ${r.setidDropped} entries not applied (pass --keep-setuid to apply them)`)
    return 0
  })
}
