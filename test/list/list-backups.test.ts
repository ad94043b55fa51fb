import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { runDatabase } from '../../lib/database/run-database.js'
import { listTable } from '../../lib/cli/cmd-list.js'
import { runCli } from '../helpers/cli.js'
import { image, mixedContent, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sqlite3')

test("list: every station's backups with sizes, state and age; filters; JSON", async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(src, mixedContent(500_000))
  const nas = path.join(dir, 'nas')
  const img = await image(dir, src, { station: 'zolder' })
  await image(dir, src, { station: 'schuur', verify: false })
  const db = path.join(dir, 'birds.db')
  sh(`sqlite3 '${db}' "CREATE TABLE d (x); INSERT INTO d VALUES (1);"`)
  await runDatabase(
    { dbs: [db], dest: nas, mount: undefined, station: 'zolder', level: 3, tmpDir: dir },
    { log: pino({ level: 'silent' }) },
  )
  // An image whose run never finished (no manifest) and one whose check failed.
  writeFileSync(path.join(nas, 'zolder/images/zolder-2026-01-04.img.gz'), 'x')
  writeFileSync(path.join(nas, 'zolder/images/zolder-2026-01-11.img.gz'), 'y')
  const m = JSON.parse(readFileSync(img.manifestFile, 'utf8'))
  writeFileSync(
    path.join(nas, 'zolder/images/zolder-2026-01-11.img.gz.manifest.json'),
    JSON.stringify({ ...m, verification: { result: 'failed' } }),
  )
  mkdirSync(path.join(nas, '.trash'))

  const r = await runCli(['list', '--dest', nas, '--json'])
  t.equal(r.code, 0, r.stderr)
  const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>
  t.match(rows, [
    { station: 'schuur', kind: 'image', state: 'unverified', rawBytes: 500_000 },
    { station: 'zolder', kind: 'database', state: 'checked', rawBytes: Number, compressedBytes: Number },
    {
      station: 'zolder',
      kind: 'image',
      name: path.relative(path.join(nas, 'zolder'), img.file),
      state: 'verified',
      rawBytes: 500_000,
      compressedBytes: img.manifest.compressed.bytes,
      ageSeconds: Number,
    },
    { station: 'zolder', kind: 'image', name: 'images/zolder-2026-01-11.img.gz', state: 'failed' },
    { station: 'zolder', kind: 'image', name: 'images/zolder-2026-01-04.img.gz', state: 'incomplete', rawBytes: null },
  ])
  t.equal(rows.length, 5)
  const only = JSON.parse(
    (await runCli(['list', '--dest', nas, '--station', 'zolder', '--kind', 'image', '--json'])).stdout,
  ) as unknown[]
  t.equal(only.length, 3)
  const text = await runCli(['list', '--dest', nas, '--kind', 'database'])
  t.match(
    text.stdout,
    /^STATION +KIND +DATE +NAME +SIZE +RAW +SMALLEST CARD +STATE +AGE\nzolder +database +\d{4}-\d\d-\d\d \d\d:\d\d +database\/birds-.*\.db\.zst +[\d.]+ (B|KiB) +[\d.]+ KiB +- +checked +\d+s\n$/,
  )
  t.equal(
    (await runCli(['list', '--dest', nas, '--station', 'berging'])).stdout,
    `no backups under ${nas} for berging\n`,
  )
  t.equal((await runCli(['list', '--dest', nas, '--mount', path.join(dir, 'not-mounted')])).code, 4)
  t.match(await runCli(['list', '--dest', path.join(dir, 'nowhere')]), { code: 3, stderr: /cannot list the backups: / })
})

test('list table: files snapshots have no size of their own', async (t) => {
  t.equal(
    listTable([
      {
        station: 's',
        kind: 'files',
        name: 'files/2026-11-22',
        path: '/x',
        date: '2026-11-22T01:00:00.000Z',
        compressedBytes: null,
        rawBytes: null,
        smallestCardBytes: null,
        state: 'checked',
        ageSeconds: 90000,
      },
    ]),
    'STATION  KIND   DATE              NAME              SIZE  RAW  SMALLEST CARD  STATE    AGE\n' +
      's        files  2026-11-22 01:00  files/2026-11-22  -     -    -              checked  25h\n',
  )
})
