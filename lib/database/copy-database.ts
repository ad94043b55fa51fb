import Database from 'better-sqlite3'
import { DatabaseCopyError } from '../errors.js'

// A consistent snapshot of a live SQLite database, checked.
export interface DatabaseCopy {
  readonly integrity: 'ok'
  /** Rows per table, in name order: what the manifest records. */
  readonly rowCounts: Record<string, number>
}

// Copies `source` into `target` with one `VACUUM INTO`: a single read transaction,
// so a WAL-mode writer (BirdNET's detection service) is never blocked, unlike the
// stepwise backup API that restarts whenever the writer commits. Then checks the copy.
export function copyDatabase(source: string, target: string): DatabaseCopy {
  let db: Database.Database | undefined
  try {
    db = new Database(source, { readonly: true, fileMustExist: true })
    db.pragma('busy_timeout = 5000') // waits for a checkpoint's brief lock, never holds the writer
    db.prepare('VACUUM INTO ?').run(target)
  } catch (err) {
    throw new DatabaseCopyError(source, (err as Error).message, { cause: err })
  } finally {
    db?.close()
  }
  const checked = checkDatabaseFile(target)
  if (!checked.ok) throw new DatabaseCopyError(source, `the copy fails integrity_check: ${checked.problems.join('; ')}`)
  return { integrity: 'ok', rowCounts: checked.rowCounts }
}

// integrity_check and the row count of every table: what a database copy is
// checked with when it is made, verified and restored.
export function checkDatabaseFile(
  file: string,
): { ok: true; rowCounts: Record<string, number> } | { ok: false; problems: string[] } {
  let copy: Database.Database | undefined
  try {
    copy = new Database(file, { readonly: true, fileMustExist: true })
    const check = copy.pragma('integrity_check') as Array<{ integrity_check: string }>
    const problems = check.map((r) => r.integrity_check).filter((r) => r !== 'ok')
    if (problems.length) return { ok: false, problems: problems.slice(0, 3) }
    const tables = copy
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as Array<{ name: string }>
    const rowCounts: Record<string, number> = {}
    for (const { name } of tables) {
      rowCounts[name] = (
        copy.prepare(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get() as { n: number }
      ).n
    }
    return { ok: true, rowCounts }
  } catch (err) {
    // SQLite reports a badly damaged file by refusing to read it at all.
    return { ok: false, problems: [(err as Error).message] }
  } finally {
    copy?.close()
  }
}
