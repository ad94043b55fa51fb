import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { pathExists } from 'fs-extra/esm'
import {
  bmapPathFor,
  databaseSeries,
  databaseTime,
  imageTime,
  inProgressPid,
  lockPath,
  manifestPathFor,
  parsePartial,
  snapshotManifestPath,
  snapshotTime,
} from './layout.js'
import { lockHeld, readLockHolder } from './job-lock.js'
import { type Backup } from './backup.js'
import type { ImageManifest } from './image-manifest.js'
import { layoutProblem, smallestCard } from './smallest-card.js'

// A backup found on the NAS, with the files or directory that make it up.
export interface FoundBackup extends Backup {
  readonly files: readonly string[]
  /** Bytes on the NAS (0 for a snapshot: its files are shared with others by hard links). */
  readonly bytes: number
  /** What it restores to, from its manifest. */
  readonly rawBytes?: number
  /** Images: the smallest card `restore --shrink` writes it to (its data plus the margin). */
  readonly smallestCard?: number
}

// What a backup's manifest says about it. A manifest that is not JSON is never
// trusted ('failed'); one that cannot be read throws, so cleanup stops instead of
// deciding on an NFS hiccup.
async function manifestFacts(
  file: string,
  kind: 'image' | 'database' | 'files',
): Promise<Pick<FoundBackup, 'rawBytes' | 'verification' | 'series' | 'smallestCard'>> {
  const text = await readFile(file, 'utf8')
  try {
    const m = JSON.parse(text) as {
      raw?: { bytes: number }
      verification?: { result: 'ok' | 'failed' | 'skipped' }
      entries?: Array<{ size: number; type: string }>
      source?: unknown
    }
    const rawBytes =
      kind === 'files' ? (m.entries ?? []).reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0) : m.raw?.bytes
    const smallest = kind === 'image' && layoutProblem(m) === undefined ? smallestCard(m as ImageManifest) : undefined
    return {
      rawBytes,
      ...(smallest !== undefined ? { smallestCard: smallest } : {}),
      ...(kind === 'image' ? { verification: m.verification?.result ?? 'skipped' } : {}),
      // Each database keeps its own slots: its copies are one series, named by the source path.
      ...(kind === 'database' && typeof m.source === 'string' ? { series: m.source } : {}),
    }
  } catch {
    return { verification: 'failed' }
  }
}

// Everything this station's jobs left on the NAS: images, database copies, file
// snapshots, and the leftovers of unfinished runs. Names the tool does not write
// are never listed, so never removed. A leftover whose pid holds its job's lock on
// this host belongs to a running job: it is held.
// `alive` (tests) decides alone whether a pid of this host still holds its lock.
export async function scanBackups(
  stationDir: string,
  station: string,
  host: string,
  alive?: (pid: number) => boolean,
): Promise<FoundBackup[]> {
  const runningPid = async (job: string) => {
    const h = await readLockHolder(lockPath(stationDir, job)).catch(() => undefined)
    return h && h.host === host && (alive ? alive(h.pid) : lockHeld(h, host)) ? h.pid : undefined
  }
  const list = async (sub: string) => (await readdir(path.join(stationDir, sub)).catch(() => [] as string[])).sort()
  const found: FoundBackup[] = []
  const partial = async (file: string, pid: number, held: number | undefined, dir = false) => {
    const st = await stat(file)
    found.push({
      name: path.relative(stationDir, file),
      kind: 'partial',
      time: st.mtime,
      complete: false,
      held: pid === held,
      files: [file],
      bytes: dir ? 0 : st.size,
    })
  }

  // Images and database copies: DEST/STATION/SUB/NAME beside NAME.manifest.json,
  // complete when the manifest stands there; `timeOf` knows the job's own names.
  const fileKinds = [
    { sub: 'images', kind: 'image', timeOf: (name: string) => imageTime(name, station) },
    { sub: 'database', kind: 'database', timeOf: databaseTime },
  ] as const
  for (const { sub, kind, timeOf } of fileKinds) {
    const names = await list(sub)
    const held = await runningPid(kind)
    for (const name of names) {
      const file = path.join(stationDir, sub, name)
      const p = parsePartial(name)
      const time = timeOf(name)
      if (p && timeOf(p.final)) await partial(file, p.pid, held)
      else if (time) {
        const manifest = manifestPathFor(file)
        const complete = names.includes(path.basename(manifest))
        const facts = complete ? await manifestFacts(manifest, kind) : {}
        // A copy whose manifest names no source: its series is its name without the time.
        const series = kind === 'database' ? { series: databaseSeries(name) } : {}
        // A used-block image's .bmap goes with it; removed in reverse: manifest first, image last.
        const bmap = names.includes(path.basename(bmapPathFor(file))) ? [bmapPathFor(file)] : []
        found.push({
          name: `${sub}/${name}`,
          kind,
          time,
          complete,
          files: [file, ...bmap, ...(complete ? [manifest] : [])],
          bytes: (await stat(file)).size,
          ...series,
          ...facts,
        })
      }
    }
  }

  const snaps = await list('files')
  const filesHeld = await runningPid('files')
  for (const name of snaps) {
    const dir = path.join(stationDir, 'files', name)
    const pid = inProgressPid(name)
    const time = snapshotTime(name)
    if (pid !== undefined) await partial(dir, pid, filesHeld, true)
    else if (time) {
      const complete = await pathExists(snapshotManifestPath(dir))
      const facts = complete ? await manifestFacts(snapshotManifestPath(dir), 'files') : {}
      found.push({ name: `files/${name}`, kind: 'files', time, complete, files: [dir], bytes: 0, ...facts })
    }
  }
  return found
}
