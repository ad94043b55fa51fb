// One entry per path in a files snapshot: what the NAS cannot keep under root
// squash (owner, group, mode) and what restore and the next run need.
export interface FileEntry {
  /** Absolute path on the station; lossy for a name that is not UTF-8 (then see rawPath). */
  readonly path: string
  /** Base64 of the path's bytes, only when they are not valid UTF-8. */
  readonly rawPath?: string
  readonly type: 'file' | 'dir' | 'symlink' | 'other'
  readonly uid: number
  readonly gid: number
  readonly mode: number
  readonly mtimeMs: number
  readonly size: number
  /** SHA-256 of a file's content. */
  readonly sha256?: string
  /** A symlink's target; rawTarget as for rawPath. */
  readonly target?: string
  readonly rawTarget?: string
  /**
   * The file kept changing while it was copied (twice): the bytes stored are those
   * read, with their size and SHA-256.
   */
  readonly changed?: true
}

export interface SnapshotManifest {
  readonly format: 'sd-backup-files'
  readonly formatVersion: 1
  readonly station: string
  readonly snapshot: string
  readonly paths: readonly string[]
  readonly excludes: readonly string[]
  readonly started: string
  readonly ended: string
  readonly result: 'ok' | 'partial'
  readonly unreadable: readonly string[]
  readonly vanished: readonly string[]
  /** Files stored as read while they changed (absent in snapshots from before 0.2). */
  readonly changed?: readonly string[]
  readonly entries: readonly FileEntry[]
}
