import { createRequire } from 'node:module'
import { RuntimeFeatureError } from '../errors.js'

// The little of SQLite the database job uses, from whichever engine this runtime has:
// Node's own node:sqlite (22.13+, nothing to build) or else the optional better-sqlite3 addon.
export interface SqliteDb {
  exec(sql: string): void
  all<T>(sql: string): T[]
  get<T>(sql: string): T | undefined
  run(sql: string, ...params: string[]): void
  close(): void
}

export type SqliteEngineName = 'node:sqlite' | 'better-sqlite3'

interface Engine {
  readonly name: SqliteEngineName
  open(file: string): SqliteDb
}

const require = createRequire(import.meta.url)
let engine: Engine | undefined

// node:sqlite warns once on load (Node 22) that it is experimental; only that warning is dropped.
function quietly<T>(load: () => T): T {
  const emit = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message
    if (/^SQLite is an experimental feature/.test(text)) return
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    return load()
  } finally {
    process.emitWarning = emit
  }
}

function nodeSqlite(): Engine | undefined {
  let mod: typeof import('node:sqlite')
  try {
    mod = quietly(() => require('node:sqlite') as typeof import('node:sqlite'))
  } catch {
    return undefined // Node < 22.13 (or 22.5+ without --experimental-sqlite)
  }
  return {
    name: 'node:sqlite',
    open(file) {
      const db = new mod.DatabaseSync(file, { readOnly: true })
      return {
        exec: (sql) => db.exec(sql),
        all: <T>(sql: string) => db.prepare(sql).all() as T[],
        get: <T>(sql: string) => db.prepare(sql).get() as T | undefined,
        run: (sql, ...params) => void db.prepare(sql).run(...params),
        close: () => db.close(),
      }
    },
  }
}

function betterSqlite(): Engine | undefined {
  let Database: typeof import('better-sqlite3')
  try {
    Database = require('better-sqlite3') as typeof import('better-sqlite3')
    new Database(':memory:').close() // loads the addon: it may be built for another Node's ABI
  } catch {
    return undefined // not installed (optional), or built for another Node
  }
  return {
    name: 'better-sqlite3',
    open(file) {
      const db = new Database(file, { readonly: true, fileMustExist: true })
      return {
        exec: (sql) => void db.exec(sql),
        all: <T>(sql: string) => db.prepare(sql).all() as T[],
        get: <T>(sql: string) => db.prepare(sql).get() as T | undefined,
        run: (sql, ...params) => void db.prepare(sql).run(...params),
        close: () => void db.close(),
      }
    },
  }
}

// The engine, found once: node:sqlite first, so current Node needs no native build.
export function sqliteEngine(): Engine {
  engine ??= nodeSqlite() ?? betterSqlite()
  if (!engine)
    throw new RuntimeFeatureError(
      'SQLite',
      `Node ${process.version} has no node:sqlite (Node 22.13 or later) and the optional better-sqlite3 is not ` +
        'installed or not built for this Node: install Node 22 LTS or later, or run `npm install better-sqlite3`',
    )
  return engine
}

/** Opens `file` read-only; it must exist. */
export function openSqlite(file: string): SqliteDb {
  return sqliteEngine().open(file)
}
