import { ManifestMismatchError } from '../errors.js'
import { snapshotManifestPath } from './layout.js'
import { readManifestFile } from './read-manifest.js'
import type { SnapshotManifest } from './snapshot-manifest.js'
import { snapshotManifestProblem } from './snapshot-paths.js'

// Reads a snapshot's manifest and validates every entry (types, ranges, paths
// absolute and normalised, none twice) before anything else is done with it.
export async function readSnapshotManifest(dir: string): Promise<SnapshotManifest> {
  const where = snapshotManifestPath(dir)
  const m = await readManifestFile<SnapshotManifest>(dir, where, 'sd-backup-files', (x) => x.snapshot)
  const problem = snapshotManifestProblem(m)
  if (problem) throw new ManifestMismatchError(dir, where, problem)
  return m
}
