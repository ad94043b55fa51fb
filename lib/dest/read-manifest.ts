import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { ManifestMismatchError, ManifestMissingError } from '../errors.js'

// Reads the JSON manifest of a backup: missing → ManifestMissingError; unreadable,
// of another format, or naming another file → ManifestMismatchError.
export async function readManifestFile<T extends { format?: unknown }>(
  file: string,
  where: string,
  format: string,
  names: (m: T) => unknown,
): Promise<T> {
  const mismatch = (reason: string, cause?: unknown) => new ManifestMismatchError(file, where, reason, { cause })
  let text: string
  try {
    text = await readFile(where, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ManifestMissingError(file, where, { cause: err })
    throw mismatch((err as Error).message, err)
  }
  let m: T
  try {
    m = JSON.parse(text) as T
  } catch (err) {
    throw mismatch(`not valid JSON (${(err as Error).message})`, err)
  }
  if (m?.format !== format) throw mismatch(`it is not an ${format} manifest`)
  const named = names(m)
  if (named !== path.basename(file)) {
    throw mismatch(
      `it belongs to ${String(named)}; a renamed backup needs its original name back, since the manifest names ` +
        `what it describes`,
    )
  }
  return m
}
