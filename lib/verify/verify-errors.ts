import { SdBackupError } from '../errors.js'

// The codes that mean "this backup is not what its manifest says": results of a
// verification, as opposed to failures of the run itself (interrupts, crashes).
export const VERIFICATION_CODES: ReadonlySet<string> = new Set([
  'SDB_MANIFEST_MISSING',
  'SDB_MANIFEST_MISMATCH',
  'SDB_BACKUP_CORRUPT',
  'SDB_TRUNCATED_MID_MEMBER',
  'SDB_TRUNCATED_AT_BOUNDARY',
  'SDB_TRAILING_DATA',
])

export function isVerificationFailure(err: unknown): err is SdBackupError {
  return err instanceof SdBackupError && VERIFICATION_CODES.has(err.code)
}
