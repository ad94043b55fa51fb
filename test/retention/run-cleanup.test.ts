import t from 'tap'
import type { Test } from 'tap'
import { rmSync, mkdirSync, readFileSync, truncateSync, utimesSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { DEFAULT_POLICY } from '../../lib/retention/apply-policy.js'
import { runCleanup } from '../../lib/retention/run-cleanup.js'
import { runCli } from '../helpers/cli.js'
import { runDatabase } from '../../lib/database/run-database.js'
import { listTree, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sqlite3')

const now = new Date(2026, 10, 29, 12, 0)
const silent = pino({ level: 'silent' })

// A station directory as the image job leaves it after ten Sundays, plus debris.
function nas(t: Test) {
  const dest = tmp(t)
  const images = path.join(dest, 'zolder', 'images')
  mkdirSync(images, { recursive: true })
  const sundays: string[] = []
  for (let w = 0; w < 10; w++) {
    const d = new Date(2026, 10, 29 - 7 * w)
    const name = `zolder-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}.img.gz`
    sundays.push(name)
    writeFileSync(path.join(images, name), `image ${w}\n`)
    writeFileSync(path.join(images, `${name}.manifest.json`), '{}\n')
    writeFileSync(path.join(images, `${name}.bmap`), '<bmap/>\n')
  }
  const old = (f: string) => utimesSync(f, new Date(2026, 10, 20), new Date(2026, 10, 20))
  writeFileSync(path.join(images, 'zolder-2026-11-25.img.gz'), 'no manifest, from Wednesday\n') // incomplete, 4 days old
  writeFileSync(path.join(images, 'zolder-2026-11-29.img.gz.4242-abcdef.partial'), 'x')
  old(path.join(images, 'zolder-2026-11-29.img.gz.4242-abcdef.partial'))
  writeFileSync(path.join(images, 'zolder-2026-11-28.img.gz.777-abcdef.partial'), 'y')
  old(path.join(images, 'zolder-2026-11-28.img.gz.777-abcdef.partial'))
  writeFileSync(path.join(images, 'notes.txt'), "mine, not the tool's\n")
  writeFileSync(path.join(images, 'zolder-before-upgrade.img.gz'), 'a hand-made image\n')
  // The image job is running as pid 777 on this host: its partial is held.
  writeFileSync(path.join(dest, 'zolder', '.lock-image'), JSON.stringify({ pid: 777, host: 'zolder', started: 'x' }))
  return { dest, images, sundays }
}

test('cleanup removes what the policy says, and only names the tool wrote', async (t) => {
  const { dest, images, sundays } = nas(t)
  const before = listTree(dest)
  const dry = await runCleanup(
    { dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: true },
    { log: silent, now, host: 'zolder', alive: (pid) => pid === 777 },
  )
  t.same(listTree(dest), before, 'a dry run removes nothing')
  const removed = dry.decisions.filter((d) => d.action === 'remove').map((d) => [d.backup.name, d.reason])
  t.same(removed, [
    ['images/zolder-2026-09-27.img.gz', 'older than the newest 7 weekly images'],
    ['images/zolder-2026-10-04.img.gz', 'older than the newest 7 weekly images'],
    ['images/zolder-2026-10-11.img.gz', 'older than the newest 7 weekly images'],
    ['images/zolder-2026-11-25.img.gz', 'incomplete (no manifest), older than a day'],
    ['images/zolder-2026-11-29.img.gz.4242-abcdef.partial', 'partial file of an unfinished run, older than a day'],
  ])
  t.match(
    dry.decisions.find((d) => d.backup.name === 'images/zolder-2026-11-28.img.gz.777-abcdef.partial'),
    { action: 'keep', reason: 'held by a running job' },
  )
  const real = await runCleanup(
    { dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: false },
    { log: silent, now, host: 'zolder', alive: (pid) => pid === 777 },
  )
  t.same(real.decisions, dry.decisions)
  t.equal(real.freedBytes, 3 * 'image 9\n'.length + 'no manifest, from Wednesday\n'.length + 1)
  const left = listTree(path.join(images))
  for (const name of sundays.slice(0, 7))
    t.ok(
      left.includes(name) && left.includes(`${name}.manifest.json`) && left.includes(`${name}.bmap`),
      `${name} kept with its manifest and .bmap`,
    )
  for (const name of sundays.slice(7))
    t.notOk(
      left.includes(name) || left.includes(`${name}.manifest.json`) || left.includes(`${name}.bmap`),
      `${name} removed with its manifest and .bmap`,
    )
  t.ok(left.includes('notes.txt') && left.includes('zolder-before-upgrade.img.gz'), 'foreign files untouched')
  t.ok(existsSync(path.join(images, 'zolder-2026-11-28.img.gz.777-abcdef.partial')))
  t.notOk(existsSync(path.join(dest, 'zolder', '.lock-cleanup')), 'its own lock released')
  t.equal(real.spaceWarning, undefined)
})

test('database copies and file snapshots follow their own rules', async (t) => {
  const { dest } = nas(t)
  const db = path.join(dest, 'zolder', 'database')
  const files = path.join(dest, 'zolder', 'files')
  mkdirSync(db, { recursive: true })
  for (const [name, complete] of [
    ['birds-2026-11-29T1115.db.zst', true],
    ['birds-2026-11-29T1015.db.zst', true],
    ['birds-2026-11-20T0315.db.zst', true],
    ['birds-2026-11-20T0215.db.zst', true],
    ['birds-2026-10-01T0315.db.zst', true],
    ['birds-2026-11-29T1215.db.zst', false],
  ] as const) {
    writeFileSync(path.join(db, name), 'z')
    if (complete) writeFileSync(path.join(db, `${name}.manifest.json`), '{}')
  }
  for (const d of ['2026-11-29', '2026-11-28', '2026-11-01']) {
    mkdirSync(path.join(files, d, 'etc'), { recursive: true })
    writeFileSync(path.join(files, d, '.sd-backup-manifest.json'), '{}')
  }
  mkdirSync(path.join(files, '2026-11-27'))
  mkdirSync(path.join(files, '2026-11-20.in-progress-555'))
  utimesSync(path.join(files, '2026-11-20.in-progress-555'), new Date(2026, 10, 20), new Date(2026, 10, 20))
  const r = await runCleanup(
    { dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: false },
    { log: silent, now, host: 'zolder', alive: () => false },
  )
  const of = (prefix: string) =>
    r.decisions.filter((d) => d.backup.name.startsWith(prefix)).map((d) => [d.backup.name, d.action, d.reason])
  t.same(of('database/'), [
    [
      'database/birds-2026-10-01T0315.db.zst',
      'keep',
      'one of the newest 48 database backups: not removed for its age alone',
    ],
    ['database/birds-2026-11-20T0215.db.zst', 'remove', 'a newer database backup covers the same day'],
    ['database/birds-2026-11-20T0315.db.zst', 'keep', 'daily copy within 30 days after the hourly ones'],
    ['database/birds-2026-11-29T1015.db.zst', 'keep', 'hourly copy within 48 hours'],
    ['database/birds-2026-11-29T1115.db.zst', 'keep', 'newest complete database backup'],
    [
      'database/birds-2026-11-29T1215.db.zst',
      'keep',
      'incomplete (no manifest), less than a day old: may still be written',
    ],
  ])
  t.same(of('files/'), [
    ['files/2026-11-01', 'keep', 'one of the newest 14 files backups: not removed for its age alone'],
    ['files/2026-11-20.in-progress-555', 'remove', 'partial file of an unfinished run, older than a day'],
    ['files/2026-11-27', 'remove', 'incomplete (no manifest), older than a day'],
    ['files/2026-11-28', 'keep', 'daily snapshot within 14 days'],
    ['files/2026-11-29', 'keep', 'newest complete files backup'],
  ])
  t.same(
    listTree(files)
      .map((f) => f.split('/')[0])
      .filter((v, i, a) => a.indexOf(v) === i),
    ['2026-11-01', '2026-11-28', '2026-11-29'],
    'snapshot directories removed whole',
  )
  t.notOk(existsSync(path.join(files, '2026-11-27')))
})

test('warns when the NAS lacks room for the next weekly image', async (t) => {
  const { dest, images } = nas(t)
  truncateSync(path.join(images, 'zolder-2026-11-29.img.gz'), 2 ** 43) // a sparse "8 TiB" newest image
  const r = await runCleanup(
    { dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: true },
    { log: silent, now, host: 'zolder', alive: () => false },
  )
  t.match(
    r.spaceWarning,
    /^the NAS has \d+ bytes free, less than the next weekly image needs \(~10555311626650, the newest image x 1\.2\)/,
  )
})

test('the CLI: --dry-run lists every decision; an unmounted NAS is refused', async (t) => {
  const { dest, images, sundays } = nas(t)
  // The CLI runs on today's clock: the fixture's newest Sunday (2026-11-29) would lie in its future.
  for (const x of ['', '.manifest.json', '.bmap']) rmSync(path.join(images, sundays[0] + x))
  const r = await runCli(['cleanup', '--dest', dest, '--station', 'zolder', '--dry-run', '--keep-weekly', '8'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /^keep +images\/zolder-2026-10-04\.img\.gz  \(one of the newest 8 weekly images\)$/m)
  t.match(r.stderr, /^would remove images\/zolder-2026-09-27\.img\.gz  \(older than the newest 8 weekly images\)$/m)
  t.match(r.stderr, /^dry run: nothing removed; .* free on the NAS after cleanup$/m)
  t.ok(r.logs.every((l) => l.job === 'cleanup'))
  const un = await runCli(['cleanup', '--dest', dest, '--mount', dest, '--station', 'zolder'])
  t.equal(un.code, 4)
  t.match(un.stderr, /is not a mounted filesystem/)
  t.equal((await runCli(['cleanup', '--help'])).code, 0)
  t.equal((await runCli(['cleanup'])).code, 2)
})

test("two users' birds.db: each keeps its own hourly copies, none collide", async (t) => {
  const dir = tmp(t)
  const dest = path.join(dir, 'nas')
  const dbs = ['pi', 'bob'].map((u) => {
    const d = path.join(dir, 'home', u, 'BirdNET-Pi', 'scripts')
    mkdirSync(d, { recursive: true })
    sh(`sqlite3 '${path.join(d, 'birds.db')}' 'CREATE TABLE detections (x); INSERT INTO detections VALUES (1)'`)
    return path.join(d, 'birds.db')
  })
  for (let h = 0; h < 3; h++) {
    const done = await runDatabase(
      { dbs, dest, mount: undefined, station: 'zolder', level: 3, tmpDir: dir },
      { log: silent, now: () => new Date(2026, 10, 29, 9 + h, 15) },
    )
    t.equal(done.length, 2, `hour ${h}: both copied`)
  }
  const r = await runCleanup(
    { dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: false },
    { log: silent, now, host: 'zolder', alive: () => false },
  )
  t.same(
    r.decisions.filter((d) => d.action === 'remove'),
    [],
    'nothing removed',
  )
  for (const db of dbs)
    t.equal(r.decisions.filter((d) => d.backup.series === db).length, 3, `${db}: its 3 copies are one series`)
})

test('the CLI: a clock earlier than the newest backup removes nothing, exits 35 and records it', async (t) => {
  const { dest, images } = nas(t)
  // A backup dated a year past the real clock (the CLI has no clock to inject), complete with its manifest.
  const d = new Date(Date.now() + 365 * 86400_000)
  const ahead = `zolder-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}.img.gz`
  writeFileSync(path.join(images, ahead), 'from the future\n')
  writeFileSync(path.join(images, `${ahead}.manifest.json`), '{}\n')
  const before = listTree(images)
  const r = await runCli(['cleanup', '--dest', dest, '--station', 'zolder'])
  t.equal(r.code, 35)
  t.match(
    r.stderr,
    new RegExp(
      `warning: nothing removed: the clock \\(.*\\) is earlier than the newest backup images/${ahead.replaceAll('.', '\\.')}`,
    ),
  )
  t.same(
    listTree(images).filter((f) => !f.startsWith('.')),
    before.filter((f) => !f.startsWith('.')),
    'every file still there',
  )
  t.match(JSON.parse(readFileSync(path.join(dest, 'zolder', 'status.json'), 'utf8')), {
    jobs: { cleanup: { result: 'failed', exitCode: 35, code: 'SDB_CLOCK_DOUBT' } },
  })
})
