import { ManifestMismatchError } from '../errors.js'
import { manifestPathFor } from './layout.js'
import { readManifestFile } from './read-manifest.js'

// What the manifest beside each copy records.
export interface DatabaseManifest {
  readonly format: 'sd-backup-database'
  readonly formatVersion: 1
  readonly tool: { readonly name: 'sd-backup'; readonly version: string }
  readonly station: string
  readonly source: string
  readonly file: string
  readonly raw: { readonly bytes: number; readonly sha256: string }
  readonly compressed: { readonly bytes: number; readonly codec: 'zstd'; readonly level: number }
  readonly integrity: 'ok'
  readonly rowCounts: Record<string, number>
  readonly started: string
  readonly ended: string
}

// Why a database manifest cannot be used, or undefined: checked before anything is read by it.
export function databaseManifestProblem(m: DatabaseManifest): string | undefined {
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0
  if (m.formatVersion !== 1) return `format version ${String(m.formatVersion)} is not understood`
  if (
    typeof m.raw !== 'object' ||
    m.raw === null ||
    !count(m.raw.bytes) ||
    !/^[0-9a-f]{64}$/.test(String(m.raw.sha256))
  )
    return 'its raw size or SHA-256 is missing or not valid'
  if (typeof m.compressed !== 'object' || m.compressed === null || !count(m.compressed.bytes))
    return 'its compressed size is missing or not valid'
  if (typeof m.rowCounts !== 'object' || m.rowCounts === null || Object.values(m.rowCounts).some((n) => !count(n)))
    return 'its row counts are not valid'
  return undefined
}

export async function readDatabaseManifest(file: string): Promise<DatabaseManifest> {
  const where = manifestPathFor(file)
  const m = await readManifestFile<DatabaseManifest>(file, where, 'sd-backup-database', (x) => x.file)
  const problem = databaseManifestProblem(m)
  if (problem) throw new ManifestMismatchError(file, where, problem)
  return m
}
