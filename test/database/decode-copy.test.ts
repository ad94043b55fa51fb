import t, { type Test } from 'tap'
import { openSync, readFileSync, statSync, writeFileSync, writeSync, closeSync, existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { runDatabase } from '../../lib/database/run-database.js'
import { zstdFrames } from '../../lib/codec/zstd-frames.js'
import { runCli } from '../helpers/cli.js'
import { sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { type DatabaseManifest } from '../../lib/dest/database-manifest.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sqlite3', 'zstd')

const silent = pino({ level: 'silent' })

// A database copy on the NAS made by the database job, from a db the sqlite3 tool wrote.
async function copy(t: Test, rows = 30000) {
  const dir = tmp(t)
  const db = path.join(dir, 'birds.db')
  sh(`sqlite3 '${db}' "CREATE TABLE detections (Com_Name TEXT, Confidence FLOAT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO detections SELECT 'Bird ' || (i % 97), 0.7 FROM n;"`)
  const [m] = await runDatabase(
    { dbs: [db], dest: path.join(dir, 'nas'), mount: undefined, station: 'zolder', level: 3, tmpDir: dir },
    { log: silent },
  )
  const file = path.join(dir, 'nas/zolder/database', m!.file)
  return { dir, db, file, m: m! }
}

test('verify: an intact copy passes SHA-256, integrity_check and the row counts', async (t) => {
  const { file } = await copy(t)
  const r = await runCli(['verify', file])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, `OK database ${file}: SHA-256 and integrity_check pass, 30000 rows in 1 tables as recorded`)
})

test('verify: a flipped byte in the compressed copy is corruption (exit 19)', async (t) => {
  const { file } = await copy(t)
  const b = readFileSync(file)
  b[Math.floor(b.length / 2)]! ^= 0x40
  writeFileSync(file, b)
  const r = await runCli(['verify', file])
  t.equal(r.code, 19)
  t.match(r.stderr, `sd-backup verify: ${file} is corrupt: `)
})

test('verify: a corrupted page that was copied as it was fails integrity_check', async (t) => {
  const { dir, db, file, m } = await copy(t)
  // Damage page 3 of the database itself, then store it with a manifest that
  // matches its bytes: only integrity_check can tell.
  const fd = openSync(db, 'r+')
  writeSync(fd, Buffer.alloc(300, 0xa5), 0, 300, 2 * 4096 + 8)
  closeSync(fd)
  sh(`zstd -q -f '${db}' -o '${file}'`)
  const manifest: DatabaseManifest = {
    ...m,
    raw: { bytes: statSync(db).size, sha256: sh(`sha256sum '${db}'`).split(' ')[0]! },
    compressed: { ...m.compressed, bytes: statSync(file).size },
  }
  writeFileSync(`${file}.manifest.json`, JSON.stringify(manifest))
  const r = await runCli(['verify', file, '--tmp-dir', dir])
  t.equal(r.code, 19, r.stderr)
  t.match(r.stderr, /is corrupt: integrity_check fails: /)
  t.same(
    readdirSync(dir).filter((n) => n.startsWith('sd-backup-verify-')),
    [],
    'the decoded copy is removed',
  )
})

test('verify: truncated, trailing data, a missing manifest', async (t) => {
  const { file } = await copy(t)
  const b = readFileSync(file)
  writeFileSync(file, Buffer.concat([b, Buffer.from('x')]))
  t.equal((await runCli(['verify', file])).code, 22)
  writeFileSync(file, b.subarray(0, b.length - 10))
  t.match(await runCli(['verify', file]), { code: 19, stderr: /the file is truncated/ })
  sh(`rm '${file}.manifest.json'`)
  t.equal((await runCli(['verify', file])).code, 17)
})

test('restore: the copy becomes a database sqlite3 reads; an existing file is never overwritten', async (t) => {
  const { dir, db, file } = await copy(t)
  const out = path.join(dir, 'restored.db')
  const r = await runCli(['restore', file, '--output', out])
  t.equal(r.code, 0, r.stderr)
  t.equal(sh(`sqlite3 '${out}' 'PRAGMA integrity_check'`).trim(), 'ok')
  t.equal(sh(`sqlite3 '${out}' 'SELECT count(*) FROM detections'`).trim(), '30000')
  t.equal(sh(`sqlite3 '${out}' .dump`), sh(`sqlite3 '${db}' .dump`), 'same content as the original')
  t.same(
    readdirSync(dir).filter((n) => n.includes('.partial')),
    [],
  )
  t.match(await runCli(['restore', file, '--output', out]), {
    code: 29,
    stderr: `sd-backup restore: ${out} already exists: restore never overwrites a file; choose another --output or move it away\n`,
  })
  t.match(await runCli(['restore', file]), { code: 2, stderr: /restoring a database copy needs --output FILE/ })
  t.ok(existsSync(out))
})

test('zstd frames are found from their headers alone', async (t) => {
  const { dir } = await copy(t, 10)
  const a = path.join(dir, 'a')
  writeFileSync(a, Buffer.alloc(300_000, 7))
  sh(`zstd -q --content-size '${a}' -o '${a}.1' && zstd -q --no-content-size --check '${a}' -o '${a}.2'`)
  const one = readFileSync(`${a}.1`)
  const two = readFileSync(`${a}.2`)
  const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3])
  const all = Buffer.concat([one, skippable, two])
  t.same(zstdFrames(all), [
    [0, one.length],
    [one.length + skippable.length, all.length],
  ])
  t.throws(() => zstdFrames(all.subarray(0, all.length - 2)), /a zstd frame is cut off at byte/)
  t.throws(() => zstdFrames(Buffer.from('not zstd')), /no zstd frame at byte 0/)
})

test('a malformed database manifest is refused (exit 18), never a crash', async (t) => {
  const { dir, file } = await copy(t, 100)
  const manifest = `${file}.manifest.json`
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as DatabaseManifest
  for (const [what, bad] of [
    ['no compressed section', { ...m, compressed: undefined }],
    ['a negative size', { ...m, raw: { ...m.raw, bytes: -1 } }],
    ['row counts that are not counts', { ...m, rowCounts: { detections: 'many' } }],
    ['format version 2', { ...m, formatVersion: 2 }],
  ] as const) {
    writeFileSync(manifest, JSON.stringify(bad))
    t.equal((await runCli(['verify', file])).code, 18, `${what}: verify`)
    t.equal(
      (await runCli(['restore', file, '--output', path.join(dir, `out-${what.length}.db`)])).code,
      18,
      `${what}: restore`,
    )
  }
})
