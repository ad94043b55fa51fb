import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { BackupCorruptError, TargetExistsError, TrailingDataError } from '../errors.js'
import { AtomicFile } from '../dest/write-atomic.js'
import { checkDatabaseFile } from './copy-database.js'
import { zstdFrames } from '../codec/zstd-frames.js'
import { loadZstd } from '../codec/zstd.js'
import { type DatabaseManifest, readDatabaseManifest } from '../dest/database-manifest.js'

// Decodes a database copy into `output` (an atomic file: complete or absent) and
// proves it: size and SHA-256 as recorded, integrity_check passes, every table has
// the rows the manifest counted. `keep: false` (verify) removes the output after.
export async function decodeDatabaseCopy(
  file: string,
  output: string,
  opts: { keep: boolean },
): Promise<{ manifest: DatabaseManifest; rowCounts: Record<string, number> }> {
  const manifest = await readDatabaseManifest(file)
  const corrupt = (reason: string) => new BackupCorruptError(file, reason)
  // Refused before anything is read when the output exists (restore never overwrites).
  const out = await AtomicFile.create(output, { existsError: (p) => new TargetExistsError(p) })
  try {
    // The compressed copy is small next to the database it holds; the database is
    // written frame by frame (16 MiB each), never held whole.
    const buf = await readFile(file)
    if (buf.length > manifest.compressed.bytes) throw new TrailingDataError(file, buf.length, manifest.compressed.bytes)
    if (buf.length < manifest.compressed.bytes)
      throw corrupt(`${buf.length} bytes, the manifest says ${manifest.compressed.bytes}: the file is truncated`)
    let frames
    try {
      frames = zstdFrames(buf)
    } catch (err) {
      throw corrupt((err as Error).message)
    }
    const zstd = await loadZstd()
    const hash = createHash('sha256')
    for (const [i, [start, end]] of frames.entries()) {
      let raw: Buffer
      try {
        raw = await zstd.decompress(buf.subarray(start, end))
      } catch (err) {
        throw corrupt(`zstd frame ${i} at byte ${start}: ${(err as Error).message}`)
      }
      hash.update(raw)
      await out.write(raw)
    }
    const sha256 = hash.digest('hex')
    if (out.bytesWritten !== manifest.raw.bytes || sha256 !== manifest.raw.sha256) {
      throw corrupt(
        `decodes to ${out.bytesWritten} bytes with SHA-256 ${sha256}, the manifest has ${manifest.raw.bytes} ` +
          `bytes, ${manifest.raw.sha256}`,
      )
    }
    const checked = checkDatabaseFile(out.partialPath)
    if (!checked.ok) throw corrupt(`integrity_check fails: ${checked.problems.join('; ')}`)
    const want = JSON.stringify(manifest.rowCounts)
    if (JSON.stringify(checked.rowCounts) !== want)
      throw corrupt(`row counts ${JSON.stringify(checked.rowCounts)} differ from the manifest's ${want}`)
    await (opts.keep ? out.commit() : out.abort())
    return { manifest, rowCounts: checked.rowCounts }
  } catch (err) {
    await out.abort()
    throw err
  }
}
