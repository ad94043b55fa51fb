import { createHash } from 'node:crypto'
import path from 'node:path'
import { codecForImageName, CODECS, type Codec } from '../codec/registry.js'

// The backup tree on the NAS (docs/DESIGN.md, "NAS layout"). This file is the only
// place that turns --dest, a station and a date into a name there, and the only one
// that reads such names back; a test keeps every other file from building them.
//
//   DEST/STATION/images/STATION-YYYY-MM-DD.img.gz (+ .manifest.json, .bmap)
//   DEST/STATION/database/NAME-TAG-YYYY-MM-DDTHHMM.db.zst (+ .manifest.json)
//   DEST/STATION/files/YYYY-MM-DD/ (manifest inside), YYYY-MM-DD.in-progress-PID/
//   DEST/STATION/status.json, DEST/STATION/.lock-JOB
//   any file: NAME.PID-TAG.partial while it is written

export type TreeKind = 'images' | 'database' | 'files'

// Where one station's backups live, and the names its jobs write.
export interface StationTree {
  readonly dest: string
  readonly station: string
  /** DEST/STATION: locks and status.json live here. */
  readonly root: string
  readonly status: string
  dir(kind: TreeKind): string
  lock(job: string): string
  image(date: Date, codec: Codec): string
  databaseCopy(db: string, at: Date): string
  snapshot(date: Date): string
  snapshotInProgress(date: Date, pid: number): string
}

export function stationTree(dest: string, station: string): StationTree {
  const root = path.join(dest, station)
  const dir = (kind: TreeKind) => path.join(root, kind)
  return {
    dest,
    station,
    root,
    status: path.join(root, 'status.json'),
    dir,
    lock: (job) => lockPath(root, job),
    image: (date, codec) => path.join(dir('images'), `${station}-${localDate(date)}${CODECS[codec].imageExtension}`),
    databaseCopy: (db, at) => path.join(dir('database'), databaseFileName(db, at)),
    snapshot: (date) => path.join(dir('files'), localDate(date)),
    snapshotInProgress: (date, pid) => path.join(dir('files'), `${localDate(date)}.in-progress-${pid}`),
  }
}

// One lock per station and job kind: DEST/STATION/.lock-JOB.
export function lockPath(stationDir: string, job: string): string {
  return path.join(stationDir, `.lock-${job}`)
}

// The calendar date on the station's own clock, which is the date people talk about.
export function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

// Where an image goes: DEST/STATION/images/STATION-YYYY-MM-DD.img.gz, manifest beside it.
export function imagePaths(dest: string, station: string, date: Date, codec: Codec) {
  const tree = stationTree(dest, station)
  const file = tree.image(date, codec)
  return { dir: tree.dir('images'), file, manifest: manifestPathFor(file) }
}

// The manifest of an image or database copy: the proof that it is complete.
export function manifestPathFor(file: string): string {
  return `${file}.manifest.json`
}

// The bmap beside an image: the first name `bmaptool copy IMAGE` looks for.
export function bmapPathFor(imageFile: string): string {
  return `${imageFile}.bmap`
}

// A snapshot's manifest, inside it: the rename that completes the snapshot completes it too.
export const SNAPSHOT_MANIFEST = '.sd-backup-manifest.json'

export function snapshotManifestPath(snapshotDir: string): string {
  return path.join(snapshotDir, SNAPSHOT_MANIFEST)
}

// NAME.PID-TAG.partial: pid plus a random tag, so two runs (or two jobs in one process) never share one.
export function partialPathFor(finalPath: string, pid: number, tag: string): string {
  return `${finalPath}.${pid}-${tag}.partial`
}

// The final name and writer's pid of a partial file's name; undefined for any other name.
export function parsePartial(name: string): { final: string; pid: number } | undefined {
  const m = /^(.+)\.(\d+)-[0-9a-f]{6}\.partial$/.exec(name)
  return m ? { final: m[1]!, pid: Number(m[2]) } : undefined
}

// True for this station's own image names (STATION-YYYY-MM-DD.img.gz or .img.zst).
export function isImageName(name: string, station: string): boolean {
  return imageTime(name, station) !== undefined
}

// The local date of STATION-YYYY-MM-DD.img.gz, or undefined for any other name.
export function imageTime(name: string, station: string): Date | undefined {
  if (!name.startsWith(`${station}-`) || codecForImageName(name) === undefined) return undefined
  const m = /^(\d{4})-(\d{2})-(\d{2})\.img\.[a-z0-9]+$/.exec(name.slice(station.length + 1))
  if (!m) return undefined
  const [y, mo, d] = m.slice(1).map(Number) as [number, number, number]
  return new Date(y, mo - 1, d)
}

// DEST/STATION/database/NAME-TAG-YYYY-MM-DDTHHMM.db.zst for a database file at a local
// time: NAME says which database, TAG (8 hex digits of the SHA-256 of its absolute
// path) keeps two databases of one file name (two users' birds.db) apart.
export function databaseFileName(db: string, at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  const name = path.basename(db).replace(/\.(db|sqlite3?)$/, '')
  const tag = createHash('sha256').update(path.resolve(db)).digest('hex').slice(0, 8)
  return `${name}-${tag}-${localDate(at)}T${pad(at.getHours())}${pad(at.getMinutes())}.db.zst`
}

const DB_NAME = /^.+-(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})\.db\.zst$/

// The local time of NAME-YYYY-MM-DDTHHMM.db.zst, or undefined for any other name.
export function databaseTime(name: string): Date | undefined {
  const m = DB_NAME.exec(name)
  if (!m) return undefined
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number]
  return new Date(y, mo - 1, d, h, mi)
}

// A database copy's name without its time: the series its copies belong to.
export function databaseSeries(name: string): string {
  return name.replace(/-\d{4}-\d{2}-\d{2}T\d{4}\.db\.zst$/, '')
}

export function isDatabaseCopyName(name: string): boolean {
  return name.endsWith('.db.zst')
}

// The date of a snapshot directory YYYY-MM-DD, or undefined for any other name.
export function snapshotTime(name: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(name)
  if (!m) return undefined
  const [y, mo, d] = m.slice(1).map(Number) as [number, number, number]
  return new Date(y, mo - 1, d)
}

// The writer's pid of YYYY-MM-DD.in-progress-PID, or undefined for any other name.
export function inProgressPid(name: string): number | undefined {
  const m = /^\d{4}-\d{2}-\d{2}\.in-progress-(\d+)$/.exec(name)
  return m ? Number(m[1]) : undefined
}
