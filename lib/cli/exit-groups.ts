import { EXIT_TABLE, type ExitName } from '../errors.js'

// Outcomes that several commands share, for the exit-code lines of their --help.
export const ANY_COMMAND: readonly ExitName[] = ['OK', 'SDB_INTERNAL', 'SDB_USAGE', 'SDB_CONFIG']
export const NAS_CHECKS: readonly ExitName[] = ['SDB_NAS_NOT_MOUNTED', 'SDB_DEST_OUTSIDE_MOUNT']
export const JOB_WRITES: readonly ExitName[] = [
  'SDB_DEST_NOT_WRITABLE',
  'SDB_BACKUP_EXISTS',
  'SDB_DEST_FULL',
  'SDB_DEST_WRITE',
  'SDB_JOB_LOCKED',
  'SDB_LOCK_UNREADABLE',
]
export const SIGNALS: readonly ExitName[] = ['SDB_INTERRUPTED', 'SIGTERM']
// The backup is not what its manifest says (and a .bmap that cannot be used).
export const VERIFICATION: readonly ExitName[] = [
  ...(Object.keys(EXIT_TABLE) as ExitName[]).filter((c) => 'verification' in EXIT_TABLE[c]),
  'SDB_BMAP_UNUSABLE',
]
