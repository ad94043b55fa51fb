import { readdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { scanBackups, type FoundBackup } from '../dest/scan-backups.js'
import { errnoText, SourceUnreadableError } from '../errors.js'
import { type BackupKind } from '../dest/backup.js'
import { stationTree } from '../dest/layout.js'

// One row of `sd-backup list`.
export interface ListedBackup {
  readonly station: string
  readonly kind: BackupKind | 'partial'
  readonly name: string
  readonly path: string
  readonly date: string
  /** Bytes on the NAS (null for snapshots, whose files are shared by hard links). */
  readonly compressedBytes: number | null
  /** What it restores to, from its manifest (null when it has none). */
  readonly rawBytes: number | null
  /** Images: the smallest card `restore --shrink` fits it on (null when it cannot be shrunk). */
  readonly smallestCardBytes: number | null
  /**
   * verified: images read back after writing; checked: database copies passed
   * integrity_check and snapshots were hashed as they were copied; unverified,
   * failed, incomplete (no manifest) and partial (a run that did not finish).
   */
  readonly state: 'verified' | 'checked' | 'unverified' | 'failed' | 'incomplete' | 'partial'
  readonly ageSeconds: number
}

// Database copies and snapshots have no verification of their own: they were checked as written.
const VERIFICATION_STATE = { ok: 'verified', failed: 'failed', skipped: 'unverified' } as const

function stateOf(b: FoundBackup): ListedBackup['state'] {
  if (b.kind === 'partial') return 'partial'
  if (!b.complete) return 'incomplete'
  return b.verification === undefined ? 'checked' : VERIFICATION_STATE[b.verification]
}

// Every backup under DEST (or one station's), newest first within each station.
export async function listBackups(
  dest: string,
  filter: { station?: string; kind?: BackupKind },
  now: Date,
): Promise<ListedBackup[]> {
  const stations = filter.station
    ? [filter.station]
    : (
        await readdir(dest, { withFileTypes: true }).catch((err: unknown) => {
          throw new SourceUnreadableError(dest, `cannot list the backups: ${errnoText(err)}`, { cause: err })
        })
      )
        .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
        .map((d) => d.name)
        .sort()
  const out: ListedBackup[] = []
  for (const station of stations) {
    const dir = stationTree(dest, station).root
    const found = await scanBackups(dir, station, os.hostname())
    for (const b of found.sort((a, c) => c.time.getTime() - a.time.getTime())) {
      if (filter.kind && b.kind !== filter.kind) continue
      const state = stateOf(b)
      out.push({
        station,
        kind: b.kind,
        name: b.name,
        path: path.join(dir, b.name),
        date: b.time.toISOString(),
        compressedBytes: b.kind === 'files' ? null : b.bytes,
        rawBytes: b.rawBytes ?? null,
        smallestCardBytes: b.smallestCard ?? null,
        state,
        ageSeconds: Math.round((now.getTime() - b.time.getTime()) / 1000),
      })
    }
  }
  return out
}
