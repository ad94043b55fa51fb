import t from 'tap'
import { spawn } from 'node:child_process'
import { openSync, readFileSync, writeSync, closeSync, existsSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { runDatabase } from '../../lib/database/run-database.js'
import { runCli } from '../helpers/cli.js'
import { listTree, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { defaultDatabases } from '../../lib/database/default-databases.js'
import { databaseFileName } from '../../lib/dest/layout.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'python3', 'sqlite3', 'zstd')

// A BirdNET-like database in WAL mode, made by the sqlite3 tool itself.
function birdsDb(dir: string, rows = 20000): string {
  const db = path.join(dir, 'birds.db')
  sh(`sqlite3 '${db}' "PRAGMA journal_mode=WAL; CREATE TABLE detections (Date DATE, Time TIME, Com_Name TEXT, Confidence FLOAT, File_Name TEXT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO detections SELECT date('2026-01-01', '+' || (i / 500) || ' days'), time(i % 86400, 'unixepoch'), 'Bird ' || (i % 97), 0.7, 'f' || i || '.mp3' FROM n;
    CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x');"`)
  return db
}

// BirdNET's writer, as an independent process: an insert every 3 ms, giving up
// after 2 s blocked like the detection service does. Prints inserts and errors.
const WRITER = `
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=2)
n = errors = 0
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        con.execute("INSERT INTO detections VALUES ('2026-11-29', '03:00:00', 'Merel', 0.9, 'live.mp3')")
        con.commit()
        n += 1
    except Exception as e:
        errors += 1
        print(e, file=sys.stderr)
    time.sleep(0.003)
print(n, errors)
`

test('a copy taken while another process inserts every 3 ms: consistent, checked, and the writer never blocked', async (t) => {
  const dir = tmp(t)
  const db = birdsDb(dir)
  const writer = spawn('python3', ['-c', WRITER, db, '3'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  writer.stdout.on('data', (d: Buffer) => (out += d.toString()))
  writer.stderr.on('data', (d: Buffer) => (err += d.toString()))
  await new Promise((r) => setTimeout(r, 500))
  const nas = path.join(dir, 'nas')
  const r = await runCli(['database', '--db', db, '--dest', nas, '--station', 'zolder'])
  t.equal(r.code, 0, r.stderr)
  await new Promise((r) => writer.on('exit', r))
  const [inserts, errors] = out.trim().split(' ').map(Number)
  t.ok(inserts! > 100, `${inserts} inserts during the run`)
  t.equal(errors, 0, `the writer saw no errors ${err}`)
  const files = listTree(nas).filter((f) => f.endsWith('.db.zst'))
  t.equal(files.length, 1)
  const file = path.join(nas, files[0]!)
  const manifest = JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8')) as {
    raw: { sha256: string; bytes: number }
    rowCounts: Record<string, number>
    integrity: string
  }
  const restored = path.join(dir, 'restored.db')
  sh(`zstd -q -d '${file}' -o '${restored}'`)
  t.equal(sh(`sqlite3 '${restored}' 'PRAGMA integrity_check'`).trim(), 'ok', 'sqlite3 itself finds the copy sound')
  t.equal(sh(`sha256sum '${restored}'`).split(' ')[0], manifest.raw.sha256)
  const rows = Number(sh(`sqlite3 '${restored}' 'SELECT count(*) FROM detections'`).trim())
  t.same(manifest.rowCounts, { detections: rows, notes: 1 })
  t.ok(rows >= 20000, `${rows} rows: the original ones and those committed before the snapshot`)
  t.equal(manifest.integrity, 'ok')
  t.match(JSON.parse(readFileSync(path.join(nas, 'zolder', 'status.json'), 'utf8')), {
    jobs: {
      database: { result: 'ok', message: /^database done: birds-.*\.db\.zst: detections \d+ rows, notes 1 rows$/ },
    },
  })
})

test('a corrupted database fails with its own code; nothing is left on the NAS', async (t) => {
  const dir = tmp(t)
  const db = birdsDb(dir, 50000)
  sh(`sqlite3 '${db}' 'PRAGMA wal_checkpoint(TRUNCATE)'`)
  const fd = openSync(db, 'r+')
  writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 4096 * 40) // scribble over a table page
  closeSync(fd)
  const nas = path.join(dir, 'nas')
  const r = await runCli(['database', '--db', db, '--dest', nas, '--station', 'zolder'])
  t.equal(r.code, 16)
  t.match(r.stderr, new RegExp(`^sd-backup database: copying the database ${db.replace(/[.]/g, '\\.')} failed: `))
  t.same(listTree(nas), ['zolder/status.json'], 'no copy, no partial; the failure is recorded')
})

test('names, several databases, defaults and errors', async (t) => {
  const tag = (p: string) => sh(`printf %s '${p}' | sha256sum`).slice(0, 8)
  t.equal(
    databaseFileName('/home/pi/BirdNET-Pi/scripts/birds.db', new Date(2026, 10, 29, 3, 15)),
    `birds-${tag('/home/pi/BirdNET-Pi/scripts/birds.db')}-2026-11-29T0315.db.zst`,
  )
  t.equal(
    databaseFileName('x.sqlite3', new Date(2026, 0, 2, 13, 5)),
    `x-${tag(path.resolve('x.sqlite3'))}-2026-01-02T1305.db.zst`,
  )
  t.not(
    databaseFileName('/home/pi/BirdNET-Pi/scripts/birds.db', new Date()),
    databaseFileName('/home/bob/BirdNET-Pi/scripts/birds.db', new Date()),
    "two users' birds.db never share a name",
  )
  const dir = tmp(t)
  const a = birdsDb(dir, 10)
  const b = path.join(dir, 'other.db')
  sh(`sqlite3 '${b}' 'CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)'`)
  const done = await runDatabase(
    { dbs: [a, b], dest: path.join(dir, 'nas'), mount: undefined, station: 's', level: 3, tmpDir: dir },
    { log: pino({ level: 'silent' }), now: () => new Date(2026, 10, 29, 3, 15) },
  )
  t.same(
    done.map((m) => [m.file, m.rowCounts]),
    [
      [`birds-${tag(a)}-2026-11-29T0315.db.zst`, { detections: 10, notes: 1 }],
      [`other-${tag(b)}-2026-11-29T0315.db.zst`, { t: 2 }],
    ],
  )
  t.same(
    listTree(dir).filter((f) => f.startsWith('sd-backup-db-')),
    [],
    'the checked copies are gone',
  )
  await t.rejects(
    runDatabase(
      { dbs: [a], dest: path.join(dir, 'nas'), mount: undefined, station: 's', level: 3, tmpDir: dir },
      { log: pino({ level: 'silent' }), now: () => new Date(2026, 10, 29, 3, 15) },
    ),
    { code: 'SDB_BACKUP_EXISTS' },
  )
  const home = tmp(t)
  sh(`mkdir -p '${home}/pi/BirdNET-Pi/scripts' '${home}/other' && touch '${home}/pi/BirdNET-Pi/scripts/birds.db'`)
  t.same(defaultDatabases(home), [`${home}/pi/BirdNET-Pi/scripts/birds.db`])
  t.same(defaultDatabases(path.join(home, 'none')), [])
  const none = await runCli(['database', '--dest', dir, '--db', path.join(dir, 'missing.db')])
  t.equal(none.code, 16)
  t.notOk(existsSync(path.join(dir, 'missing.db')), 'a missing database is not created')
  t.equal((await runCli(['database', '--help'])).code, 0)
})
