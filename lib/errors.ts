// Every failure the tool can explain is one of these classes: a stable `code`, the
// paths and numbers involved as fields, the underlying error in `cause`. Exit codes
// are derived from `code` in EXIT_TABLE at the end of this file, nowhere else.

/** Base class so callers can tell an explained failure from a bug. */
export abstract class SdBackupError extends Error {
  abstract readonly code: ErrorCode
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

// Wrong flags or arguments on the command line.
export class UsageError extends SdBackupError {
  readonly code = 'SDB_USAGE' as const
}

// A config file or flag value that does not validate; names the key and the file/line.
export class ConfigError extends SdBackupError {
  readonly code = 'SDB_CONFIG' as const
  constructor(
    readonly key: string,
    readonly problem: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    const where = file ? `${file}${line ? `:${line}` : ''}: ` : ''
    super(`${where}${key}: ${problem}`)
  }
}

// The source device or image file cannot be opened or sized.
export class SourceUnreadableError extends SdBackupError {
  readonly code = 'SDB_SOURCE_UNREADABLE' as const
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read source ${path}: ${reason}`, options)
  }
}

// Reading failed or ended early after the backup had started.
export class SourceReadError extends SdBackupError {
  readonly code = 'SDB_SOURCE_READ' as const
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`reading ${path} failed at byte ${offset}: ${reason}`, options)
  }
}

// The NAS mount point is only a directory on the card: a backup there would fill the card.
export class NasNotMountedError extends SdBackupError {
  readonly code = 'SDB_NAS_NOT_MOUNTED' as const
  constructor(readonly path: string) {
    super(
      `${path} is not a mounted filesystem (not in /proc/self/mountinfo): ` +
        `mount the NAS (mount ${path}) or fix --mount; nothing was written`,
    )
  }
}

// --dest is not below --mount, so the mount check would prove nothing.
export class DestOutsideMountError extends SdBackupError {
  readonly code = 'SDB_DEST_OUTSIDE_MOUNT' as const
  constructor(
    readonly dest: string,
    readonly mount: string,
  ) {
    super(`destination ${dest} is not inside the NAS mount ${mount}: point --dest below --mount`)
  }
}

// The destination sits on the disk being imaged; the image would read its own output.
export class DestOnSourceError extends SdBackupError {
  readonly code = 'SDB_DEST_ON_SOURCE' as const
  constructor(
    readonly dest: string,
    readonly device: string,
  ) {
    super(
      `destination ${dest} is on ${device}, the device being backed up: ` + `write to the NAS instead (is it mounted?)`,
    )
  }
}

// Creating or writing in the destination was refused (root squash is the usual cause on NFS).
export class DestNotWritableError extends SdBackupError {
  readonly code = 'SDB_DEST_NOT_WRITABLE' as const
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot write in ${path} (${reason}): on an NFS export with root_squash, root here is ` +
        `'nobody' there; create the directory on the NAS and make it writable by that user ` +
        `(or by the uid the NAS maps root to)`,
      options,
    )
  }
}

// Preflight found less free space than the estimate for this image.
export class InsufficientSpaceError extends SdBackupError {
  readonly code = 'SDB_INSUFFICIENT_SPACE' as const
  constructor(
    readonly path: string,
    readonly available: number,
    readonly needed: number,
    readonly basis: string,
  ) {
    super(
      `only ${available} bytes free in ${path}, need ${needed} (${basis}): ` +
        `free space on the NAS (sd-backup cleanup) or lower --min-free`,
    )
  }
}

// A backup of this station and day exists; it is never overwritten.
export class BackupExistsError extends SdBackupError {
  readonly code = 'SDB_BACKUP_EXISTS' as const
  constructor(readonly path: string) {
    super(`${path} already exists and is never overwritten: move it away to take another image today`)
  }
}

// The destination filled up while writing; the partial file has been removed.
export class DestFullError extends SdBackupError {
  readonly code = 'SDB_DEST_FULL' as const
  constructor(
    readonly path: string,
    readonly written: number,
    options?: { cause?: unknown },
  ) {
    super(
      `the destination filled up after ${written} bytes of ${path}; the partial file was removed: ` +
        `free space on the NAS (sd-backup cleanup)`,
      options,
    )
  }
}

// Any other write, fsync or rename failure in the destination.
export class DestWriteError extends SdBackupError {
  readonly code = 'SDB_DEST_WRITE' as const
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`writing ${path} failed: ${reason}`, options)
  }
}

// What a worker thread does: compress (image), decompress (verify, restore) or read a card back.
export type WorkerRole = 'compression' | 'decompression' | 'read-back'

// A worker thread died or reported a failure; the job stops cleanly.
export class WorkerCrashedError extends SdBackupError {
  readonly code = 'SDB_WORKER_CRASHED' as const
  constructor(
    readonly role: WorkerRole,
    readonly worker: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${role} worker ${worker} failed: ${reason}`, options)
  }
}

// SIGINT or SIGTERM arrived; everything written by this run was removed.
export class InterruptedError extends SdBackupError {
  readonly code = 'SDB_INTERRUPTED' as const
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}; the partial file was removed`)
  }
}

// Another run of the same job for the same station holds the lock.
export class JobLockedError extends SdBackupError {
  readonly code = 'SDB_JOB_LOCKED' as const
  constructor(
    readonly path: string,
    readonly job: string,
    readonly holder: { readonly pid: number; readonly host: string; readonly started: string },
  ) {
    super(
      `another ${job} run of this station is in progress (pid ${holder.pid} on ${holder.host}, ` +
        `started ${holder.started}): lock ${path}; if that process is gone, remove the lock file`,
    )
  }
}

// `sd-backup alert --test` could not deliver its mail (jobs only log this).
export class AlertNotSentError extends SdBackupError {
  readonly code = 'SDB_ALERT_NOT_SENT' as const
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `the test alert could not be sent through ${host}:${port}: check smtp-host, smtp-port, smtp-tls and the ` +
        `login (the log has the server's answer)`,
    )
  }
}

// The database cannot be read, or its copy fails integrity_check.
export class DatabaseCopyError extends SdBackupError {
  readonly code = 'SDB_DATABASE_COPY' as const
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`copying the database ${path} failed: ${reason}`, options)
  }
}

// `verify` or `restore` found no manifest beside the backup: it never completed.
export class ManifestMissingError extends SdBackupError {
  readonly code = 'SDB_MANIFEST_MISSING' as const
  constructor(
    readonly file: string,
    readonly manifest: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${file} has no manifest (${manifest} is missing): the backup never completed, or the manifest was ` +
        `removed; it cannot be trusted`,
      options,
    )
  }
}

// The manifest is unreadable, or describes another file than the one beside it.
export class ManifestMismatchError extends SdBackupError {
  readonly code = 'SDB_MANIFEST_MISMATCH' as const
  constructor(
    readonly file: string,
    readonly manifest: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the manifest ${manifest} does not describe ${file}: ${reason}`, options)
  }
}

// The content differs from what the manifest recorded (a flipped bit, a bad sector).
export class BackupCorruptError extends SdBackupError {
  readonly code = 'SDB_BACKUP_CORRUPT' as const
  constructor(
    readonly file: string,
    readonly reason: string,
    /** Where it was found: a byte offset in the file, a member number, a path in a snapshot. */
    readonly where: { readonly offset?: number; readonly member?: number; readonly path?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(`${file} is corrupt: ${reason}`, options)
  }
}

// The file ends inside a member: the write was cut off (or the file was cut later).
export class TruncatedMidMemberError extends SdBackupError {
  readonly code = 'SDB_TRUNCATED_MID_MEMBER' as const
  constructor(
    readonly file: string,
    readonly size: number,
    readonly expected: number,
    readonly member: number,
  ) {
    super(`${file} is truncated inside member ${member}: ${size} of ${expected} bytes (${expected - size} missing)`)
  }
}

// The file ends exactly between two members: `gzip -t` passes it, the image is still short.
export class TruncatedAtBoundaryError extends SdBackupError {
  readonly code = 'SDB_TRUNCATED_AT_BOUNDARY' as const
  constructor(
    readonly file: string,
    readonly size: number,
    readonly expected: number,
    readonly membersPresent: number,
    readonly members: number,
  ) {
    super(
      `${file} is truncated at a member boundary: ${membersPresent} of ${members} members, ${size} of ` +
        `${expected} bytes ` +
        `(${expected - size} missing). gzip -t accepts such a file; the image would restore short`,
    )
  }
}

// Bytes follow the last member the manifest lists.
export class TrailingDataError extends SdBackupError {
  readonly code = 'SDB_TRAILING_DATA' as const
  constructor(
    readonly file: string,
    readonly size: number,
    readonly expected: number,
  ) {
    super(
      `${file} has ${size - expected} bytes of trailing data after its last member (${size} bytes, the manifest ` +
        `says ${expected})`,
    )
  }
}

// restore: the target device, or one of its partitions, is mounted or in use.
export class TargetInUseError extends SdBackupError {
  readonly code = 'SDB_TARGET_IN_USE' as const
  constructor(
    readonly device: string,
    readonly use: string,
  ) {
    super(`refusing to write to ${device}: ${use}; unmount it first (nothing was written)`)
  }
}

// restore: the target is the disk the running system lives on (or holds the backup).
export class TargetIsSystemDiskError extends SdBackupError {
  readonly code = 'SDB_TARGET_SYSTEM_DISK' as const
  constructor(
    readonly device: string,
    readonly why: string,
  ) {
    super(`refusing to write to ${device}: ${why}; restore to a card in a USB reader (nothing was written)`)
  }
}

// restore: the target is smaller than the image; says by how much.
export class TargetTooSmallError extends SdBackupError {
  readonly code = 'SDB_TARGET_TOO_SMALL' as const
  constructor(
    readonly device: string,
    readonly size: number,
    readonly needed: number,
    /** restore --shrink: `needed` is the data plus the margin, not the whole image. */
    readonly shrunk?: 'shrunk',
  ) {
    super(
      `${device} is too small: ${size} bytes, the image needs ${needed}` +
        `${shrunk ? ' even with its root filesystem shrunk to its data and margin' : ''} ` +
        `(${needed - size} bytes short); use a larger card (nothing was written)`,
    )
  }
}

// restore: the person at the terminal did not confirm (or there was no terminal and no --yes).
export class NotConfirmedError extends SdBackupError {
  readonly code = 'SDB_NOT_CONFIRMED' as const
  constructor(
    readonly device: string,
    readonly reason: string,
  ) {
    super(`not writing to ${device}: ${reason} (nothing was written)`)
  }
}

// restore: the output file or database already exists; restore never overwrites a file.
export class TargetExistsError extends SdBackupError {
  readonly code = 'SDB_TARGET_EXISTS' as const
  constructor(readonly path: string) {
    super(`${path} already exists: restore never overwrites a file; choose another --output or move it away`)
  }
}

// restore of a snapshot: a path below --target that would have to be followed (a
// symlink) or replaced (a directory where a file goes). Nothing is written through it.
export class TargetBlockedError extends SdBackupError {
  readonly code = 'SDB_TARGET_BLOCKED' as const
  constructor(readonly path: string) {
    super(
      `${path} is a symlink, or not what the snapshot has there: restore never writes through a symlink nor ` +
        `replaces a directory; move it away and restore again`,
    )
  }
}

// cleanup: the clock is earlier than the newest backup, or far past the newest hourly
// copy; a Pi without an RTC can boot with any date. Nothing was removed.
export class ClockDoubtError extends SdBackupError {
  readonly code = 'SDB_CLOCK_DOUBT' as const
  constructor(readonly reason: string) {
    super(`cleanup removed nothing: ${reason}; check the clock (timedatectl) and that the database job runs`)
  }
}

// A lock file that is not one this tool wrote (damaged, or put there by hand).
export class LockUnreadableError extends SdBackupError {
  readonly code = 'SDB_LOCK_UNREADABLE' as const
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the lock ${path} cannot be read (${reason}): if no sd-backup job of this station is running, remove it ` +
        `(rm '${path}') and run again`,
      options,
    )
  }
}

// restore --verify: what the device reads back differs from the image.
// A 64-digit hex string is a SHA-256; anything else ("zeros", "a non-zero byte at …") says itself.
const sha = (s: string): string => (/^[0-9a-f]{64}$/.test(s) ? `SHA-256 ${s}` : s)

export class ReadBackMismatchError extends SdBackupError {
  readonly code = 'SDB_READBACK_MISMATCH' as const
  constructor(
    readonly device: string,
    readonly expected: string,
    readonly actual: string,
    readonly range?: string,
  ) {
    super(
      `reading ${device}${range ? ` ${range}` : ''} back gives ${sha(actual)}, the image has ${sha(expected)}: ` +
        `the card does not hold the image (a failing or fake-capacity card, or written since?)`,
    )
  }
}

// The configured before-image command failed: nothing was read, the after-image command still ran.
export class BeforeCommandFailedError extends SdBackupError {
  readonly code = 'SDB_BEFORE_COMMAND_FAILED' as const
  constructor(
    readonly command: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`before-image command failed (${reason}), so no image was taken: ${command}`, options)
  }
}

// The configured after-image command failed; the image itself is complete (`file`) when given.
export class AfterCommandFailedError extends SdBackupError {
  readonly code = 'SDB_AFTER_COMMAND_FAILED' as const
  constructor(
    readonly command: string,
    readonly reason: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `after-image command failed (${reason}): ${command}${file ? `; the image itself is complete: ${file}` : ''}`,
      options,
    )
  }
}

// restore --bmap: the .bmap beside the image is missing, damaged, or belongs to another image.
export class BmapUnusableError extends SdBackupError {
  readonly code = 'SDB_BMAP_UNUSABLE' as const
  constructor(
    readonly file: string,
    readonly bmap: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot use ${bmap} for ${file}: ${reason}`, options)
  }
}

// This Node lacks what a command needs (node:sqlite, zlib's zstd) and the optional addon is absent too.
export class RuntimeFeatureError extends SdBackupError {
  readonly code = 'SDB_RUNTIME_MISSING' as const
  constructor(
    readonly feature: string,
    readonly how: string,
  ) {
    super(`no ${feature} in this runtime: ${how}`)
  }
}

// restore --shrink: the image cannot be made to fit (its layout, missing e2fsprogs,
// no room to stage it, a root filesystem e2fsck cannot repair). Nothing was written.
export class ShrinkRefusedError extends SdBackupError {
  readonly code = 'SDB_SHRINK_REFUSED' as const
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot shrink ${file}: ${reason} (nothing was written)`, options)
  }
}

// An errno as a person reads it: "ENOSPC: no space left on device", never the code twice.
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (!e?.code) return String(e?.message ?? err)
  return e.message.startsWith(e.code) ? e.message : `${e.code}: ${e.message}`
}

// The code of every error class above: a class whose code is not listed does not compile.
export type ErrorCode =
  | 'SDB_USAGE'
  | 'SDB_CONFIG'
  | 'SDB_SOURCE_UNREADABLE'
  | 'SDB_SOURCE_READ'
  | 'SDB_NAS_NOT_MOUNTED'
  | 'SDB_DEST_OUTSIDE_MOUNT'
  | 'SDB_DEST_ON_SOURCE'
  | 'SDB_DEST_NOT_WRITABLE'
  | 'SDB_INSUFFICIENT_SPACE'
  | 'SDB_BACKUP_EXISTS'
  | 'SDB_DEST_FULL'
  | 'SDB_DEST_WRITE'
  | 'SDB_WORKER_CRASHED'
  | 'SDB_INTERRUPTED'
  | 'SDB_JOB_LOCKED'
  | 'SDB_ALERT_NOT_SENT'
  | 'SDB_DATABASE_COPY'
  | 'SDB_MANIFEST_MISSING'
  | 'SDB_MANIFEST_MISMATCH'
  | 'SDB_BACKUP_CORRUPT'
  | 'SDB_TRUNCATED_MID_MEMBER'
  | 'SDB_TRUNCATED_AT_BOUNDARY'
  | 'SDB_TRAILING_DATA'
  | 'SDB_TARGET_IN_USE'
  | 'SDB_TARGET_SYSTEM_DISK'
  | 'SDB_TARGET_TOO_SMALL'
  | 'SDB_NOT_CONFIRMED'
  | 'SDB_TARGET_EXISTS'
  | 'SDB_TARGET_BLOCKED'
  | 'SDB_CLOCK_DOUBT'
  | 'SDB_LOCK_UNREADABLE'
  | 'SDB_READBACK_MISMATCH'
  | 'SDB_BEFORE_COMMAND_FAILED'
  | 'SDB_AFTER_COMMAND_FAILED'
  | 'SDB_BMAP_UNUSABLE'
  | 'SDB_RUNTIME_MISSING'
  | 'SDB_SHRINK_REFUSED'

// Outcomes that are not an error class: success, a bug, a partial files run, SIGTERM.
export type OutcomeCode =
  'OK' | 'SDB_INTERNAL' | 'PARTIAL_UNREADABLE' | 'PARTIAL_VANISHED' | 'PARTIAL_CHANGED' | 'SIGTERM'

export interface ExitRow {
  readonly exit: number
  /** One line for --help and README's table. */
  readonly help: string
  /** The backup is not what its manifest says: a verification result, not a failure of the run. */
  readonly verification?: true
}

// The one place that turns an outcome into a process exit code; --help and README's
// table are rendered from it (a test holds README to it). A code never changes
// meaning once released; a new error class without a row does not compile.
export const EXIT_TABLE = {
  OK: { exit: 0, help: 'success' },
  SDB_INTERNAL: { exit: 1, help: 'internal error (a bug: please report it with the log)' },
  SDB_USAGE: { exit: 2, help: 'bad command line' },
  SDB_CONFIG: { exit: 2, help: 'bad config file or option value' },
  SDB_SOURCE_UNREADABLE: { exit: 3, help: 'source device or file cannot be opened or sized' },
  SDB_NAS_NOT_MOUNTED: { exit: 4, help: 'NAS mount point is not mounted' },
  SDB_DEST_OUTSIDE_MOUNT: { exit: 5, help: '--dest is not inside --mount' },
  SDB_DEST_ON_SOURCE: { exit: 6, help: 'destination lies on the device being backed up' },
  SDB_DEST_NOT_WRITABLE: { exit: 7, help: 'destination not writable (root squash?)' },
  SDB_INSUFFICIENT_SPACE: { exit: 8, help: 'not enough free space on the destination (preflight)' },
  SDB_BACKUP_EXISTS: { exit: 9, help: "today's backup already exists (never overwritten)" },
  SDB_DEST_FULL: { exit: 10, help: 'destination filled up while writing' },
  SDB_DEST_WRITE: { exit: 11, help: 'other write error on the destination' },
  SDB_WORKER_CRASHED: { exit: 12, help: 'a compression or decompression worker crashed' },
  SDB_SOURCE_READ: { exit: 13, help: 'reading the source failed mid-run' },
  SDB_JOB_LOCKED: { exit: 14, help: 'another run of this job is in progress (lock held)' },
  SDB_LOCK_UNREADABLE: { exit: 14, help: "the job's lock file cannot be read (the message says how to remove it)" },
  SDB_ALERT_NOT_SENT: { exit: 15, help: 'the test alert could not be sent (alert --test only)' },
  SDB_DATABASE_COPY: { exit: 16, help: 'a database could not be copied, or its copy failed integrity_check' },
  SDB_MANIFEST_MISSING: {
    exit: 17,
    help: 'verify/restore: the manifest is missing (the backup never completed)',
    verification: true,
  },
  SDB_MANIFEST_MISMATCH: {
    exit: 18,
    help: 'verify/restore: the manifest is unreadable or describes another file',
    verification: true,
  },
  SDB_BMAP_UNUSABLE: { exit: 18, help: 'restore --bmap: the .bmap is unreadable or describes another image' },
  SDB_BACKUP_CORRUPT: {
    exit: 19,
    help: 'verify/restore: corrupt content (CRC, SHA-256, integrity_check or checksum differs)',
    verification: true,
  },
  SDB_TRUNCATED_MID_MEMBER: {
    exit: 20,
    help: 'verify/restore: the image is truncated inside a member',
    verification: true,
  },
  SDB_TRUNCATED_AT_BOUNDARY: {
    exit: 21,
    help: 'verify/restore: the image is truncated at a member boundary (gzip -t passes it)',
    verification: true,
  },
  SDB_TRAILING_DATA: { exit: 22, help: 'verify/restore: trailing data after the last member', verification: true },
  PARTIAL_UNREADABLE: { exit: 23, help: 'partial: some files could not be read (files job; listed in the log)' },
  PARTIAL_VANISHED: { exit: 24, help: 'partial: some files vanished while being copied (files job)' },
  SDB_TARGET_IN_USE: { exit: 25, help: 'restore: the target device or a partition of it is mounted or in use' },
  SDB_TARGET_SYSTEM_DISK: { exit: 26, help: 'restore: the target is the system disk (or holds the backup)' },
  SDB_TARGET_TOO_SMALL: { exit: 27, help: 'restore: the target is smaller than the image' },
  SDB_NOT_CONFIRMED: { exit: 28, help: 'restore: not confirmed (answer yes, or pass --yes)' },
  SDB_TARGET_EXISTS: { exit: 29, help: 'restore: the output file already exists (never overwritten)' },
  SDB_READBACK_MISMATCH: { exit: 30, help: 'restore --verify, verify --device: the device reads back different bytes' },
  SDB_BEFORE_COMMAND_FAILED: {
    exit: 31,
    help: 'image: the before-image command failed (no image taken; after-image still ran)',
  },
  SDB_AFTER_COMMAND_FAILED: {
    exit: 32,
    help: 'image: the after-image command failed (the image itself may be complete: see the message)',
  },
  PARTIAL_CHANGED: {
    exit: 33,
    help: 'partial: some files kept changing while copied; stored as read and marked (files job)',
  },
  SDB_TARGET_BLOCKED: {
    exit: 34,
    help: 'restore: a path below --target is a symlink or a directory where a file goes (never followed)',
  },
  SDB_CLOCK_DOUBT: {
    exit: 35,
    help:
      'cleanup: the clock is not trusted (earlier than the newest backup, or far past the hourly copies): ' +
      'nothing removed',
  },
  SDB_RUNTIME_MISSING: {
    exit: 36,
    help: 'this Node has no node:sqlite or zlib zstd and the optional addon is not installed (the message says which)',
  },
  SDB_SHRINK_REFUSED: {
    exit: 37,
    help:
      'restore --shrink: the image cannot be shrunk (root not ext2/3/4 and last, e2fsprogs missing, no room in ' +
      '--tmp-dir, e2fsck cannot repair it)',
  },
  SDB_INTERRUPTED: { exit: 130, help: 'interrupted by SIGINT' },
  SIGTERM: { exit: 143, help: 'interrupted by SIGTERM' },
} as const satisfies Record<ErrorCode | OutcomeCode, ExitRow>

export type ExitName = keyof typeof EXIT_TABLE

// Exit number → its help line, codes that share a number joined: for --help.
export const EXIT_CODE_HELP: ReadonlyArray<readonly [number, string]> = (() => {
  const byExit = new Map<number, Set<string>>()
  for (const r of Object.values(EXIT_TABLE) as ExitRow[])
    byExit.set(r.exit, (byExit.get(r.exit) ?? new Set()).add(r.help))
  return [...byExit].map(([exit, helps]) => [exit, [...helps].join('; ')] as const)
})()

// Maps any thrown value to the exit code the process ends with.
export function exitCodeFor(err: unknown): number {
  if (err instanceof InterruptedError)
    return err.signal === 'SIGTERM' ? EXIT_TABLE.SIGTERM.exit : EXIT_TABLE.SDB_INTERRUPTED.exit
  if (err instanceof SdBackupError) return EXIT_TABLE[err.code].exit
  return EXIT_TABLE.SDB_INTERNAL.exit
}

// A verification result (the backup differs from its manifest), as opposed to a
// failure of the run itself (interrupts, crashes).
export function isVerificationFailure(err: unknown): err is SdBackupError {
  return err instanceof SdBackupError && (EXIT_TABLE[err.code] as ExitRow).verification === true
}
