import { lstat, readlink } from 'node:fs/promises'
import path from 'node:path'
import { BackupCorruptError } from '../errors.js'
import { SNAPSHOT_MANIFEST, type FileEntry, type SnapshotManifest } from '../files/snapshot-manifest.js'
import { readManifestFile } from './read-manifest.js'
import { sha256OfFile } from '../util/sha256-file.js'

export function readSnapshotManifest(dir: string): Promise<SnapshotManifest> {
  return readManifestFile<SnapshotManifest>(dir, path.join(dir, SNAPSHOT_MANIFEST), 'sd-backup-files', (m) => m.snapshot)
}

// What is wrong with one entry of the snapshot, or undefined when it is as recorded.
async function entryProblem(dir: string, e: FileEntry): Promise<string | undefined> {
  const at = path.join(dir, e.path)
  const st = await lstat(at).catch(() => undefined)
  if (e.type === 'other') return undefined // FIFOs and devices are only recorded
  if (!st) return 'missing'
  if (e.type === 'dir') return st.isDirectory() ? undefined : 'not a directory'
  if (e.type === 'symlink') return st.isSymbolicLink() && (await readlink(at)) === e.target ? undefined : `not a symlink to ${e.target}`
  if (!st.isFile()) return 'not a regular file'
  if (st.size !== e.size) return `${st.size} bytes, the manifest says ${e.size}`
  const sum = await sha256OfFile(at)
  return sum === e.sha256 ? undefined : `SHA-256 ${sum} differs from the manifest's`
}

// Proves a files snapshot: every file the manifest lists is there with its size
// and SHA-256, every directory and symlink as recorded. Returns the entry count.
export async function verifySnapshot(dir: string): Promise<{ manifest: SnapshotManifest; entries: number; bytes: number }> {
  const manifest = await readSnapshotManifest(dir)
  const problems: Array<[string, string]> = []
  let bytes = 0
  for (const e of manifest.entries) {
    const p = await entryProblem(dir, e)
    if (p) problems.push([e.path, p])
    else if (e.type === 'file') bytes += e.size
  }
  if (problems.length) {
    const [first] = problems
    const list = problems.slice(0, 5).map(([f, p]) => `${f}: ${p}`).join('; ')
    throw new BackupCorruptError(dir, `${problems.length} of ${manifest.entries.length} entries differ from the manifest: ${list}`, { path: first![0] })
  }
  return { manifest, entries: manifest.entries.length, bytes }
}
