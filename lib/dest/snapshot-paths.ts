import { lstat, mkdir } from 'node:fs/promises'
import { pathBytes } from '../util/path-bytes.js'
import type { FileEntry, SnapshotManifest } from './snapshot-manifest.js'

// A snapshot on the NAS is hostile input: another station, or anyone who can write
// to the share, may have written its manifest. Every path is checked here before
// anything is read or written, and every walk below a snapshot or a restore target
// goes component by component without following a symlink.

const TYPES = new Set(['file', 'dir', 'symlink', 'other'])
const SHA256 = /^[0-9a-f]{64}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

// The components of an absolute, normalised path: no '.', '..', empty or NUL part.
// Undefined when the path is not one ('/' itself has none).
export function components(p: Buffer): Buffer[] | undefined {
  if (p.length === 0 || p[0] !== 0x2f || p.includes(0)) return undefined
  if (p.length === 1) return []
  const parts: Buffer[] = []
  let from = 1
  for (let i = 1; i <= p.length; i++) {
    if (i < p.length && p[i] !== 0x2f) continue
    const part = p.subarray(from, i)
    const text = part.toString('latin1')
    if (part.length === 0 || text === '.' || text === '..') return undefined
    parts.push(part)
    from = i + 1
  }
  return parts
}

const isInt = (v: unknown, min: number, max: number) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max

// What is wrong with one entry, or undefined.
function entryProblem(e: FileEntry): string | undefined {
  if (typeof e !== 'object' || e === null) return 'not an object'
  if (typeof e.path !== 'string') return 'no path'
  if (e.rawPath !== undefined && (typeof e.rawPath !== 'string' || !BASE64.test(e.rawPath)))
    return 'rawPath is not base64'
  if (!components(pathBytes(e))) return 'the path is not absolute and normalised (no ., .., // or NUL)'
  if (!TYPES.has(e.type)) return `unknown type ${String(e.type)}`
  if (!isInt(e.uid, 0, 2 ** 32 - 1) || !isInt(e.gid, 0, 2 ** 32 - 1)) return 'owner or group out of range'
  if (!isInt(e.mode, 0, 0o7777)) return 'mode out of range'
  if (typeof e.mtimeMs !== 'number' || !Number.isFinite(e.mtimeMs)) return 'mtime is not a number'
  if (!isInt(e.size, 0, Number.MAX_SAFE_INTEGER)) return 'size is not a whole number of bytes'
  if (e.type === 'file' && (typeof e.sha256 !== 'string' || !SHA256.test(e.sha256))) return 'a file without a SHA-256'
  if (
    e.type === 'symlink' &&
    (typeof e.target !== 'string' ||
      e.target.length === 0 ||
      (e.rawTarget !== undefined && !BASE64.test(String(e.rawTarget))))
  )
    return 'a symlink without a target'
  return undefined
}

// Validates a snapshot manifest before anything is allocated or touched: the
// reason for the first thing wrong, or undefined.
export function snapshotManifestProblem(m: SnapshotManifest): string | undefined {
  if (m.formatVersion !== 1) return `format version ${String(m.formatVersion)} is not understood`
  if (!Array.isArray(m.entries)) return 'it has no entry list'
  for (const k of ['unreadable', 'vanished'] as const) if (!Array.isArray(m[k])) return `${k} is not a list`
  const seen = new Set<string>()
  for (const [i, e] of m.entries.entries()) {
    const problem = entryProblem(e)
    if (problem) return `entry ${i} (${String(e?.path)}): ${problem}`
    const key = pathBytes(e).toString('base64')
    if (seen.has(key)) return `entry ${i} (${e.path}): listed twice`
    seen.add(key)
  }
  return undefined
}

// Joins a root directory with an entry's components, as bytes.
export function below(root: string, parts: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(root), ...parts.flatMap((p) => [Buffer.from('/'), p])])
}

// Checks that every directory above an entry (inside `root`) is a real directory,
// not a symlink; `known` remembers the ones already checked. False when one is not.
export async function parentsAreDirs(root: string, parts: readonly Buffer[], known: Set<string>): Promise<boolean> {
  for (let i = 1; i < parts.length; i++) {
    const dir = below(root, parts.slice(0, i))
    const key = dir.toString('base64')
    if (known.has(key)) continue
    const st = await lstat(dir).catch(() => undefined)
    if (!st?.isDirectory()) return false
    known.add(key)
  }
  return true
}

// Creates the directories above an entry (and the entry itself with `self`) below
// `root`, one component at a time: a component that exists as anything but a real
// directory is refused, never followed. Returns the name of the refused one.
export async function makeParents(
  root: string,
  parts: readonly Buffer[],
  known: Set<string>,
  self = false,
): Promise<string | undefined> {
  for (let i = 1; i <= parts.length - (self ? 0 : 1); i++) {
    const dir = below(root, parts.slice(0, i))
    const key = dir.toString('base64')
    if (known.has(key)) continue
    const st = await lstat(dir).catch(() => undefined)
    if (!st) await mkdir(dir, { mode: 0o700 })
    else if (!st.isDirectory()) return dir.toString('utf8')
    known.add(key)
  }
  return undefined
}
