import { IMAGE_OPTIONS } from '../config/options.js'
import { resolveImageOptions } from '../image/image-options.js'
import { runImage } from '../image/run-image.js'
import { imageSummary } from '../image/summary.js'
import { detectRootDisk } from '../system/root-disk.js'
import type { CliIo } from './cli-io.js'
import { commandSettings, exitCodeLines } from './common.js'
import { optionHelp } from './parse-flags.js'
import { isVerificationFailure } from '../errors.js'
import { runJob } from '../jobs/run-job.js'

export const IMAGE_HELP = `Usage: sd-backup image [options]

Streams the SD card (or --device) through parallel gzip straight onto the NAS as
DEST/STATION/images/STATION-YYYY-MM-DD.img.gz, with a manifest beside it
(SHA-256, member index). Nothing is staged on the card. The .img.gz is a normal
gzip file of the card's full size: Raspberry Pi Imager, balenaEtcher and
'gunzip -c | dd' restore it.

Only what the filesystems use is read: the partition table (MBR, logical
partitions, GPT) says where the partitions are, ext2/3/4 block bitmaps and the
FAT say which blocks hold data, and free blocks become zeros in the image (they
cost neither reading nor compression). The table, the gaps, partitions holding
anything else and the space after the last partition are read whole; so is the
whole card when the table is not understood, and a filesystem with a feature not
understood (bigalloc, meta_bg), each with a log line saying why. A log line per
partition says what was read and what was skipped. --full reads every byte.
A .bmap (bmaptool format 2.0, SHA-256 per range) is written beside the image:
'bmaptool copy IMAGE.img.gz /dev/sdX' then writes only the used blocks.

The root filesystem is imaged while mounted: each block group's bitmap is read
just before its blocks, but the image is crash-consistent at best, as with dd.
--before-image and --after-image run shell commands around the read (e.g. stop
and start the recording service); the after-command runs even when the image
fails, right after reading ends (before the read-back check).

After writing, it reads the image back from the NAS and checks every member's
CRC-32 and length and the SHA-256 of the whole image (--no-verify skips this; the
image then never counts as the newest verified backup). The result goes into the
manifest and status.json.

Before reading a byte it checks: --mount is mounted and holds --dest, --dest is
not on the card being imaged, today's image does not exist yet, the directory is
writable (probe file), and free space >= previous image x 1.2 (or --min-free).

Options (each is also a config key, e.g. 'chunk-size = 4M'):
  --config FILE              config file [$SD_BACKUP_CONFIG, /etc/sd-backup/sd-backup.conf]
${optionHelp(IMAGE_OPTIONS)}
  -h, --help                 this text

Examples:
  sd-backup image --mount /mnt/nas --dest /mnt/nas/backups --station zolder
  sd-backup image --before-image 'systemctl stop birdnet_recording' \\
                  --after-image 'systemctl start birdnet_recording'

Exit codes:
${exitCodeLines()}
`

// `sd-backup image`: flags and config → runImage, with signals and a summary.
export async function cmdImage(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, IMAGE_OPTIONS, IMAGE_HELP, io, 'image')
  if (!got) return 0
  const resolved = resolveImageOptions(got.s)
  return runJob(
    io,
    'image',
    got.s,
    async ({ log, signal }) => {
      const device = resolved.device ?? detectRootDisk()
      log.info({ device, autodetected: resolved.device === undefined, config: got.configFile }, `source: ${device}`)
      if (resolved.device === undefined) io.stderr.write(`source: ${device} (the disk holding /)\n`)
      const result = await runImage(
        { ...resolved, device },
        { log, signal, tty: io.stderr.isTTY ? io.stderr : undefined, sink: io.sink },
      )
      const summary = imageSummary(result.manifest, result.file)
      log.info({ summary: summary.fields }, summary.text)
      if (io.stderr.isTTY) io.stderr.write(`${summary.text}\n`)
      return {
        message: summary.text,
        ...(result.manifest.verification ? { verified: result.manifest.verification.result } : {}),
      }
    },
    { verifiedOnFailure: (err) => (isVerificationFailure(err) ? 'failed' : undefined) },
  )
}
