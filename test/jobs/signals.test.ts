import t from 'tap'
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { sh } from '../helpers/image.js'
import { smtpServer } from '../helpers/smtp.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sqlite3')

// database, files and cleanup end on SIGINT/SIGTERM as image does: what they were
// writing is taken back, status.json records the interruption, the alert goes out,
// and the exit code is 130/143.

const mail = (port: number) => [
  '--smtp-host',
  '127.0.0.1',
  '--smtp-port',
  String(port),
  '--mail-to',
  'owner@example.org',
  '--mail-from',
  'pi@zolder',
  '--mail-retries',
  '1',
]

async function until(cond: () => boolean, tight = false): Promise<void> {
  for (let i = 0; i < 100000 && !cond(); i++) await new Promise((r) => (tight ? setImmediate(r) : setTimeout(r, 5)))
}

function status(nas: string, job: string) {
  return (
    JSON.parse(readFileSync(path.join(nas, 'zolder', 'status.json'), 'utf8')) as { jobs: Record<string, unknown> }
  ).jobs[job]
}

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`files: ${signal} takes the snapshot back, records it, alerts, exits ${code}`, async (t) => {
    const smtp = await smtpServer(t)
    const dir = tmp(t)
    const src = path.join(dir, 'home')
    mkdirSync(src)
    for (let i = 0; i < 400; i++) writeFileSync(path.join(src, `f${i}`), Buffer.alloc(256 * 1024, i))
    const nas = path.join(dir, 'nas')
    const signals = new EventEmitter()
    const run = runCli(['files', '--path', src, '--dest', nas, '--station', 'zolder', ...mail(smtp.port)], { signals })
    const files = path.join(nas, 'zolder', 'files')
    await until(
      () =>
        existsSync(files) &&
        readdirSync(files).some((n) => n.includes('in-progress') && readdirSync(path.join(files, n)).length > 0),
    )
    signals.emit(signal)
    const r = await run
    t.equal(r.code, code)
    t.same(readdirSync(files), [], 'no snapshot, no in-progress directory')
    t.match(status(nas, 'files'), { result: 'failed', exitCode: code, code: 'SDB_INTERRUPTED' })
    t.match(smtp.mails.at(-1), { subject: '[sd-backup] zolder files: FAILED' })
  })
}

test('database: SIGTERM between databases records it, alerts, exits 143, leaves no partial', async (t) => {
  const smtp = await smtpServer(t)
  const dir = tmp(t)
  const dbs: string[] = []
  for (let i = 0; i < 6; i++) {
    const db = path.join(dir, `d${i}.db`)
    sh(
      `sqlite3 '${db}' "CREATE TABLE t (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) INSERT INTO t SELECT randomblob(2000) FROM n;"`,
    )
    dbs.push('--db', db)
  }
  const nas = path.join(dir, 'nas')
  const signals = new EventEmitter()
  const run = runCli(['database', ...dbs, '--dest', nas, '--station', 'zolder', '--tmp-dir', dir, ...mail(smtp.port)], {
    signals,
  })
  const out = path.join(nas, 'zolder', 'database')
  // A job that ends on its own (it failed) stops the wait at once rather than at the test's timeout.
  let ended = false
  void run.finally(() => (ended = true))
  await until(() => ended || (existsSync(out) && readdirSync(out).some((n) => n.endsWith('.manifest.json'))))
  signals.emit('SIGTERM')
  const r = await run
  t.equal(r.code, 143, r.stderr)
  t.same(
    readdirSync(out).filter((n) => n.endsWith('.partial')),
    [],
    'no partial copy',
  )
  t.ok(readdirSync(out).filter((n) => n.endsWith('.manifest.json')).length < 6, 'stopped before the last database')
  t.match(status(nas, 'database'), { result: 'failed', exitCode: 143 })
  t.match(smtp.mails.at(-1), { subject: '[sd-backup] zolder database: FAILED' })
})

test('cleanup: SIGINT between removals records it and exits 130', async (t) => {
  const dir = tmp(t)
  const nas = path.join(dir, 'nas')
  const images = path.join(nas, 'zolder', 'images')
  mkdirSync(images, { recursive: true })
  const today = new Date()
  for (let w = 0; w < 300; w++) {
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 7 * w - 1)
    const name = `zolder-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}.img.gz`
    writeFileSync(path.join(images, name), Buffer.alloc(4 * 2 ** 20))
    writeFileSync(path.join(images, `${name}.manifest.json`), '{"verification": {"result": "ok"}}')
  }
  const signals = new EventEmitter()
  const run = runCli(['cleanup', '--dest', nas, '--station', 'zolder', '--keep-weekly', '2'], { signals })
  await until(() => readdirSync(images).length < 600, true)
  signals.emit('SIGINT')
  const r = await run
  t.equal(r.code, 130)
  t.ok(readdirSync(images).length > 4, 'stopped before removing all it would have')
  t.match(status(nas, 'cleanup'), { result: 'failed', exitCode: 130 })
})
