import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { decodeDatabaseCopy } from '../database/decode-copy.js'
import type { Progress } from '../log/progress.js'
import { backupKind } from '../dest/backup-kind.js'
import { verifyImage } from './verify-image.js'
import { verifySnapshot } from './verify-snapshot.js'
import { type BackupKind } from '../dest/backup.js'

export interface VerifyOptions {
  readonly workers: number
  /** Where a database copy is decoded to be checked (removed after). */
  readonly tmpDir?: string
  readonly signal?: AbortSignal
  readonly progress?: (total: number, label: string) => Progress
}

// What `sd-backup verify` reports for a backup that passed.
export interface VerifyReport {
  readonly kind: BackupKind
  readonly path: string
  readonly rawBytes: number
  readonly sha256?: string
  /** Images of manifest version 2: the root of the member digests. */
  readonly root?: string
  readonly detail: string
  readonly seconds: number
}

// Verifies any backup the tool writes; throws the error that says what is wrong.
export async function verifyBackup(target: string, opts: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now()
  const seconds = () => (Date.now() - started) / 1000
  const kind = await backupKind(target)
  if (kind === 'files') {
    const r = await verifySnapshot(target)
    return {
      kind,
      path: target,
      rawBytes: r.bytes,
      detail: `${r.entries} entries match their manifest (sizes and SHA-256)`,
      seconds: seconds(),
    }
  }
  if (kind === 'database') {
    const work = await mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'sd-backup-verify-'))
    try {
      const r = await decodeDatabaseCopy(target, path.join(work, 'copy.db'), { keep: false })
      const rows = Object.values(r.rowCounts).reduce((a, b) => a + b, 0)
      return {
        kind,
        path: target,
        rawBytes: r.manifest.raw.bytes,
        sha256: r.manifest.raw.sha256,
        detail:
          `SHA-256 and integrity_check pass, ${rows} rows in ${Object.keys(r.rowCounts).length} tables as ` +
          `recorded`,
        seconds: seconds(),
      }
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  }
  const r = await verifyImage(target, opts)
  const checks =
    r.root !== undefined ? 'CRC-32, length and SHA-256; size and root digest' : 'CRC-32 and length; size and SHA-256'
  return {
    kind,
    path: target,
    rawBytes: r.rawBytes,
    ...(r.sha256 ? { sha256: r.sha256 } : {}),
    ...(r.root ? { root: r.root } : {}),
    detail: `${r.members} members decode with their ${checks} as recorded`,
    seconds: seconds(),
  }
}
