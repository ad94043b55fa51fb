import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { bmapPathFor, isImageName, manifestPathFor } from './layout.js'
import { SNAPSHOT_MANIFEST } from './snapshot-manifest.js'
import { lockHeld, readLockHolder } from './job-lock.js'
import { type Backup } from './backup.js'

// A backup found on the NAS, with the files or directory that make it up.
export interface FoundBackup extends Backup {
  readonly files: readonly string[]
  /** Bytes on the NAS (0 for a snapshot: its files are shared with others by hard links). */
  readonly bytes: number
  /** What it restores to, from its manifest. */
  readonly rawBytes?: number
}

// What a backup's manifest says about it. A manifest that is not JSON is never
// trusted ('failed'); one that cannot be read throws, so cleanup stops instead of
// deciding on an NFS hiccup.
async function manifestFacts(file: string, kind: 'image' | 'database' | 'files'): Promise<Pick<FoundBackup, 'rawBytes' | 'verification' | 'series'>> {
  const text = await readFile(file, 'utf8')
  try {
    const m = JSON.parse(text) as { raw?: { bytes: number }; verification?: { result: 'ok' | 'failed' | 'skipped' }; entries?: Array<{ size: number; type: string }>; source?: unknown }
    const rawBytes = kind === 'files' ? (m.entries ?? []).reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0) : m.raw?.bytes
    return {
      rawBytes,
      ...(kind === 'image' ? { verification: m.verification?.result ?? 'skipped' } : {}),
      // Each database keeps its own slots: its copies are one series, named by the source path.
      ...(kind === 'database' && typeof m.source === 'string' ? { series: m.source } : {}),
    }
  } catch {
    return { verification: 'failed' }
  }
}

const PARTIAL_FILE = /^(.+)\.(\d+)-[0-9a-f]{6}\.partial$/
const DB_NAME = /^.+-(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})\.db\.zst$/
const DB_STAMP = /-\d{4}-\d{2}-\d{2}T\d{4}\.db\.zst$/
const SNAPSHOT = /^(\d{4})-(\d{2})-(\d{2})$/
const IN_PROGRESS = /^\d{4}-\d{2}-\d{2}\.in-progress-(\d+)$/

// The local date of STATION-YYYY-MM-DD.img.gz, or undefined for any other name.
function imageTime(station: string): (name: string) => Date | undefined {
  return (name) => {
    if (!isImageName(name, station)) return undefined
    const [y, m, d] = name.slice(station.length + 1, station.length + 11).split('-').map(Number) as [number, number, number]
    return new Date(y, m - 1, d)
  }
}

// The local time of NAME-YYYY-MM-DDTHHMM.db.zst, or undefined for any other name.
function databaseTime(name: string): Date | undefined {
  const m = DB_NAME.exec(name)
  if (!m) return undefined
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number]
  return new Date(y, mo - 1, d, h, mi)
}

// Everything this station's jobs left on the NAS: images, database copies, file
// snapshots, and the leftovers of unfinished runs. Names the tool does not write
// are never listed, so never removed. A leftover whose pid holds its job's lock on
// this host belongs to a running job: it is held.
// `alive` (tests) decides alone whether a pid of this host still holds its lock.
export async function scanBackups(stationDir: string, station: string, host: string, alive?: (pid: number) => boolean): Promise<FoundBackup[]> {
  const runningPid = async (job: string) => {
    const h = await readLockHolder(path.join(stationDir, `.lock-${job}`)).catch(() => undefined)
    return h && h.host === host && (alive ? alive(h.pid) : lockHeld(h, host)) ? h.pid : undefined
  }
  const list = async (sub: string) => (await readdir(path.join(stationDir, sub)).catch(() => [] as string[])).sort()
  const found: FoundBackup[] = []
  const partial = async (file: string, pid: number, held: number | undefined, dir = false) => {
    const st = await stat(file)
    found.push({ name: path.relative(stationDir, file), kind: 'partial', time: st.mtime, complete: false, held: pid === held, files: [file], bytes: dir ? 0 : st.size })
  }

  // Images and database copies: DEST/STATION/SUB/NAME beside NAME.manifest.json,
  // complete when the manifest stands there; `timeOf` knows the job's own names.
  const fileKinds = [
    { sub: 'images', kind: 'image', timeOf: imageTime(station) },
    { sub: 'database', kind: 'database', timeOf: databaseTime },
  ] as const
  for (const { sub, kind, timeOf } of fileKinds) {
    const names = await list(sub)
    const held = await runningPid(kind)
    for (const name of names) {
      const file = path.join(stationDir, sub, name)
      const p = PARTIAL_FILE.exec(name)
      const time = timeOf(name)
      if (p && timeOf(p[1]!)) await partial(file, Number(p[2]), held)
      else if (time) {
        const manifest = manifestPathFor(file)
        const complete = names.includes(path.basename(manifest))
        const facts = complete ? await manifestFacts(manifest, kind) : {}
        // A copy whose manifest names no source: its series is its name without the time.
        const series = kind === 'database' ? { series: name.replace(DB_STAMP, '') } : {}
        // A used-block image's .bmap goes with it; removed in reverse: manifest first, image last.
        const bmap = names.includes(path.basename(bmapPathFor(file))) ? [bmapPathFor(file)] : []
        found.push({ name: `${sub}/${name}`, kind, time, complete, files: [file, ...bmap, ...(complete ? [manifest] : [])], bytes: (await stat(file)).size, ...series, ...facts })
      }
    }
  }

  const snaps = await list('files')
  const filesHeld = await runningPid('files')
  for (const name of snaps) {
    const dir = path.join(stationDir, 'files', name)
    const p = IN_PROGRESS.exec(name)
    const m = SNAPSHOT.exec(name)
    if (p) await partial(dir, Number(p[1]), filesHeld, true)
    else if (m) {
      const complete = await stat(path.join(dir, SNAPSHOT_MANIFEST)).then(() => true, () => false)
      const facts = complete ? await manifestFacts(path.join(dir, SNAPSHOT_MANIFEST), 'files') : {}
      const [y, mo, d] = m.slice(1).map(Number) as [number, number, number]
      found.push({ name: `files/${name}`, kind: 'files', time: new Date(y, mo - 1, d), complete, files: [dir], bytes: 0, ...facts })
    }
  }
  return found
}
