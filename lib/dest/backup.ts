// A backup as the NAS shows it: what scan-backups finds and retention decides on.
export type BackupKind = 'image' | 'database' | 'files'

export interface Backup {
  /** Unique name, e.g. the file or snapshot directory name. */
  readonly name: string
  /** `partial` is a leftover of a run that did not finish (NAME.PID-TAG.partial). */
  readonly kind: BackupKind | 'partial'
  readonly time: Date
  /** Has its manifest: only complete backups count as backups. */
  readonly complete: boolean
  /** A running job holds it (its lock names the run that writes it). */
  readonly held?: boolean
  /**
   * Images: the read-back check recorded in the manifest ('skipped' when none ran).
   * Absent for kinds checked as they are written (database, files).
   */
  readonly verification?: 'ok' | 'failed' | 'skipped'
  /**
   * Which series it belongs to within its kind: a database copy's source database
   * (each database keeps its own hourly and daily copies). Absent: one series.
   */
  readonly series?: string
}
