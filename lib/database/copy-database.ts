import { DatabaseCopyError, RuntimeFeatureError } from '../errors.js'
import { openSqlite, type SqliteDb } from './sqlite.js'

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
  let db: SqliteDb | undefined
  try {
    db = openSqlite(source)
    db.exec('PRAGMA busy_timeout = 5000') // waits for a checkpoint's brief lock, never holds the writer
    db.run('VACUUM INTO ?', target)
  } catch (err) {
    if (err instanceof RuntimeFeatureError) throw err
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
  let copy: SqliteDb | undefined
  try {
    copy = openSqlite(file)
    const check = copy.all<{ integrity_check: string }>('PRAGMA integrity_check')
    const problems = check.map((r) => r.integrity_check).filter((r) => r !== 'ok')
    if (problems.length) return { ok: false, problems: problems.slice(0, 3) }
    const tables = copy.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    const rowCounts: Record<string, number> = {}
    for (const { name } of tables) {
      rowCounts[name] = Number(copy.get<{ n: number }>(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`)!.n)
    }
    return { ok: true, rowCounts }
  } catch (err) {
    if (err instanceof RuntimeFeatureError) throw err
    // SQLite reports a badly damaged file by refusing to read it at all.
    return { ok: false, problems: [(err as Error).message] }
  } finally {
    copy?.close()
  }
}
