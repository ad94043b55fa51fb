import { lstat, readlink } from 'node:fs/promises'
import pLimit from 'p-limit'
import { BackupCorruptError } from '../errors.js'
import { pathBytes } from '../util/path-bytes.js'
import { type FileEntry, type SnapshotManifest } from '../dest/snapshot-manifest.js'
import { below, components, parentsAreDirs } from '../dest/snapshot-paths.js'
import { sha256OfFile } from '../util/sha256-file.js'
import { readSnapshotManifest } from '../dest/read-snapshot-manifest.js'

// Files hashed at once (bench/RESULTS.md, "files").
const HASHES = 8

// What is wrong with one entry of the snapshot, or undefined when it is as recorded.
// Only paths inside the snapshot are read: a directory above the entry that is a
// symlink makes the entry missing, and the last component is never followed.
async function entryProblem(dir: string, e: FileEntry, known: Set<string>): Promise<string | undefined> {
  if (e.type === 'other') return undefined // FIFOs and devices are only recorded
  const parts = components(pathBytes(e))!
  if (!(await parentsAreDirs(dir, parts, known))) return 'a directory above it is missing or a symlink'
  const at = below(dir, parts)
  const st = await lstat(at).catch(() => undefined)
  if (!st) return 'missing'
  if (e.type === 'dir') return st.isDirectory() ? undefined : 'not a directory'
  if (e.type === 'symlink') {
    const want = e.rawTarget !== undefined ? Buffer.from(e.rawTarget, 'base64') : Buffer.from(e.target!)
    return st.isSymbolicLink() && (await readlink(at, { encoding: 'buffer' })).equals(want)
      ? undefined
      : `not a symlink to ${e.target}`
  }
  if (!st.isFile()) return 'not a regular file'
  if (st.size !== e.size) return `${st.size} bytes, the manifest says ${e.size}`
  const sum = await sha256OfFile(at, { noFollow: true })
  return sum === e.sha256 ? undefined : `SHA-256 ${sum} differs from the manifest's`
}

// Proves a files snapshot: every file the manifest lists is there with its size
// and SHA-256, every directory and symlink as recorded. Returns the entry count.
// Entries are checked HASHES at a time: small files on NFS wait on round trips.
export async function verifySnapshot(
  dir: string,
  opts: { concurrency?: number } = {},
): Promise<{ manifest: SnapshotManifest; entries: number; bytes: number }> {
  const manifest = await readSnapshotManifest(dir)
  const known = new Set<string>()
  const limit = pLimit(opts.concurrency ?? HASHES)
  const found = await Promise.all(manifest.entries.map((e) => limit(() => entryProblem(dir, e, known))))
  const problems: Array<[string, string]> = []
  let bytes = 0
  manifest.entries.forEach((e, i) => {
    const p = found[i]
    if (p) problems.push([e.path, p])
    else if (e.type === 'file') bytes += e.size
  })
  if (problems.length) {
    const [first] = problems
    const list = problems
      .slice(0, 5)
      .map(([f, p]) => `${f}: ${p}`)
      .join('; ')
    throw new BackupCorruptError(
      dir,
      `${problems.length} of ${manifest.entries.length} entries differ from the manifest: ${list}`,
      { path: first![0] },
    )
  }
  return { manifest, entries: manifest.entries.length, bytes }
}
