import { InterruptedError, SdBackupError } from './errors.js'

// The one place that turns an outcome into a process exit code. Help texts list this
// table, so a code never changes meaning once released.
export const EXIT_CODES = {
  OK: 0,
  INTERNAL: 1,
  SDB_USAGE: 2,
  SDB_CONFIG: 2,
  SDB_SOURCE_UNREADABLE: 3,
  SDB_NAS_NOT_MOUNTED: 4,
  SDB_DEST_OUTSIDE_MOUNT: 5,
  SDB_DEST_ON_SOURCE: 6,
  SDB_DEST_NOT_WRITABLE: 7,
  SDB_INSUFFICIENT_SPACE: 8,
  SDB_BACKUP_EXISTS: 9,
  SDB_DEST_FULL: 10,
  SDB_DEST_WRITE: 11,
  SDB_WORKER_CRASHED: 12,
  SDB_SOURCE_READ: 13,
  SDB_JOB_LOCKED: 14,
  SDB_LOCK_UNREADABLE: 14,
  SDB_ALERT_NOT_SENT: 15,
  SDB_DATABASE_COPY: 16,
  SDB_MANIFEST_MISSING: 17,
  SDB_MANIFEST_MISMATCH: 18,
  SDB_BMAP_UNUSABLE: 18,
  SDB_BACKUP_CORRUPT: 19,
  SDB_TRUNCATED_MID_MEMBER: 20,
  SDB_TRUNCATED_AT_BOUNDARY: 21,
  SDB_TRAILING_DATA: 22,
  PARTIAL_UNREADABLE: 23,
  PARTIAL_VANISHED: 24,
  SDB_TARGET_IN_USE: 25,
  SDB_TARGET_SYSTEM_DISK: 26,
  SDB_TARGET_TOO_SMALL: 27,
  SDB_NOT_CONFIRMED: 28,
  SDB_TARGET_EXISTS: 29,
  SDB_READBACK_MISMATCH: 30,
  SDB_BEFORE_COMMAND_FAILED: 31,
  SDB_AFTER_COMMAND_FAILED: 32,
  PARTIAL_CHANGED: 33,
  SDB_TARGET_BLOCKED: 34,
  SDB_CLOCK_DOUBT: 35,
  SIGINT: 130,
  SIGTERM: 143,
} as const

// One line per code, for --help.
export const EXIT_CODE_HELP: ReadonlyArray<readonly [number, string]> = [
  [0, 'success'],
  [1, 'internal error (a bug: please report it with the log)'],
  [2, 'bad command line or config file'],
  [3, 'source device or file cannot be opened or sized'],
  [4, 'NAS mount point is not mounted'],
  [5, '--dest is not inside --mount'],
  [6, 'destination lies on the device being backed up'],
  [7, 'destination not writable (root squash?)'],
  [8, 'not enough free space on the destination (preflight)'],
  [9, "today's backup already exists (never overwritten)"],
  [10, 'destination filled up while writing'],
  [11, 'other write error on the destination'],
  [12, 'a compression or decompression worker crashed'],
  [13, 'reading the source failed mid-run'],
  [14, 'another run of this job is in progress (lock held), or its lock file cannot be read (the message says how to remove it)'],
  [15, 'the test alert could not be sent (alert --test only)'],
  [16, 'a database could not be copied, or its copy failed integrity_check'],
  [17, 'verify/restore: the manifest is missing (the backup never completed)'],
  [18, 'verify/restore: the manifest (or the .bmap for restore --bmap) is unreadable or describes another file'],
  [19, 'verify/restore: corrupt content (CRC, SHA-256, integrity_check or checksum differs)'],
  [20, 'verify/restore: the image is truncated inside a member'],
  [21, 'verify/restore: the image is truncated at a member boundary (gzip -t passes it)'],
  [22, 'verify/restore: trailing data after the last member'],
  [23, 'partial: some files could not be read (files job; listed in the log)'],
  [24, 'partial: some files vanished while being copied (files job)'],
  [25, 'restore: the target device or a partition of it is mounted or in use'],
  [26, 'restore: the target is the system disk (or holds the backup)'],
  [27, 'restore: the target is smaller than the image'],
  [28, 'restore: not confirmed (answer yes, or pass --yes)'],
  [29, 'restore: the output file already exists (never overwritten)'],
  [30, 'restore --verify: the device reads back different bytes'],
  [31, 'image: the before-image command failed (no image taken; after-image still ran)'],
  [32, 'image: the after-image command failed (the image itself may be complete: see the message)'],
  [33, 'partial: some files kept changing while copied; stored as read and marked (files job)'],
  [34, 'restore: a path below --target is a symlink or a directory where a file goes (never followed)'],
  [35, 'cleanup: the clock is not trusted (earlier than the newest backup, or far past the hourly copies): nothing removed'],
  [130, 'interrupted by SIGINT'],
  [143, 'interrupted by SIGTERM'],
]

// Maps any thrown value to the exit code the process ends with.
export function exitCodeFor(err: unknown): number {
  if (err instanceof InterruptedError) return EXIT_CODES[err.signal]
  if (err instanceof SdBackupError) {
    const code = (EXIT_CODES as Record<string, number>)[err.code]
    if (code !== undefined) return code
  }
  return EXIT_CODES.INTERNAL
}
