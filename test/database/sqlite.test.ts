import t from 'tap'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openSqlite, sqliteEngine } from '../../lib/database/sqlite.js'
import { sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sqlite3')

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
const hasNodeSqlite = major > 22 || (major === 22 && minor >= 13)

test("the runtime's own SQLite is used where it has one, else better-sqlite3", async (t) => {
  t.equal(sqliteEngine().name, hasNodeSqlite ? 'node:sqlite' : 'better-sqlite3', `Node ${process.version}`)
})

test('a database written by the sqlite3 tool reads back through the adapter', async (t) => {
  const db = path.join(tmp(t), 'a.db')
  sh(`sqlite3 '${db}' "CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);"`)
  const h = openSqlite(db)
  t.same(
    h.all<{ integrity_check: string }>('PRAGMA integrity_check').map((r) => r.integrity_check),
    ['ok'],
  )
  t.equal(Number(h.get<{ n: number }>('SELECT count(*) AS n FROM t')!.n), 3)
  const copy = path.join(path.dirname(db), 'b.db')
  h.run('VACUUM INTO ?', copy)
  h.close()
  t.equal(sh(`sqlite3 '${copy}' 'SELECT sum(x) FROM t'`).trim(), '6', 'VACUUM INTO wrote a copy sqlite3 reads')
  t.throws(() => openSqlite(path.join(path.dirname(db), 'none.db')), 'a missing file is not created')
})

// The CLI's stderr stays clean on Node 22, where node:sqlite warns it is experimental, and
// other warnings still reach the process.
test('only the SQLite ExperimentalWarning is silenced', async (t) => {
  const script = `
    const seen = []
    process.on('warning', (w) => seen.push(w.name + ': ' + w.message))
    const { openSqlite } = await import(${JSON.stringify(path.join(root, 'dist/lib/database/sqlite.js'))})
    openSqlite(process.argv[1]).close()
    process.emitWarning('something else', 'ExperimentalWarning')
    await new Promise((r) => setImmediate(r))
    console.log(JSON.stringify(seen))`
  const db = path.join(tmp(t), 'w.db')
  sh(`sqlite3 '${db}' 'CREATE TABLE t (x)'`)
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, db], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout), ['ExperimentalWarning: something else'])
  t.notMatch(r.stderr, /SQLite is an experimental feature/)
})
