import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { tmp } from '../helpers/tmp.js'

t.test('every job explains a destination it cannot use, and records what it safely can', async (t) => {
  const dir = tmp(t)
  const notADir = path.join(dir, 'file')
  writeFileSync(notADir, 'x')
  const files = await runCli(['files', '--path', dir, '--dest', notADir, '--station', 'zolder'])
  t.equal(files.code, 7)
  t.match(files.stderr, /^sd-backup files: cannot write in .*file\/zolder \(ENOTDIR/)
  t.match(
    files.logs.find((l) => l.level === 40),
    { msg: /^could not record the result in .*status\.json/ },
    'the status could not be written either: a warning, same exit code',
  )
  const mnt = path.join(dir, 'mnt')
  mkdirSync(mnt)
  const status = await runCli(['status', '--mount', mnt, '--dest', mnt])
  t.equal(status.code, 4)
  const db = await runCli([
    'database',
    '--db',
    path.join(dir, 'none.db'),
    '--dest',
    path.join(dir, 'nas'),
    '--station',
    'zolder',
  ])
  t.equal(db.code, 16)
  t.match(db.stderr, /^sd-backup database: copying the database .*none\.db failed: /)
  t.equal((await runCli(['files', '--help'])).code, 0)
  t.equal((await runCli(['status'])).code, 2)
  t.equal((await runCli(['files'])).code, 2)
  t.equal((await runCli(['database'], { env: {} })).code, 2)
})
