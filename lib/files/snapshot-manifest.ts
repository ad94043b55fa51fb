// One entry per path in a files snapshot: what the NAS cannot keep under root
// squash (owner, group, mode) and what restore and the next run need.
export interface FileEntry {
  readonly path: string
  readonly type: 'file' | 'dir' | 'symlink' | 'other'
  readonly uid: number
  readonly gid: number
  readonly mode: number
  readonly mtimeMs: number
  readonly size: number
  /** SHA-256 of a file's content. */
  readonly sha256?: string
  /** A symlink's target. */
  readonly target?: string
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
  readonly entries: readonly FileEntry[]
}

// Inside the snapshot, so the rename that completes the snapshot also completes it.
export const SNAPSHOT_MANIFEST = '.sd-backup-manifest.json'
