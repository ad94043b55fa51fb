import t from 'tap'
import type { Test } from 'tap'
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { restoreSnapshot } from '../../lib/restore/restore-snapshot.js'
import { runFiles } from '../../lib/files/run-files.js'
import { verifySnapshot } from '../../lib/verify/verify-snapshot.js'
import { runCli } from '../helpers/cli.js'
import { listTree, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

const silent = pino({ level: 'silent' })
const now = () => new Date(2026, 10, 28, 2, 0)

function station(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'home', 'pi')
  mkdirSync(path.join(src, 'BirdNET-Pi', 'scripts'), { recursive: true })
  writeFileSync(path.join(src, 'BirdNET-Pi', 'scripts', 'birdnet.conf'), 'LATITUDE=52.1\n')
  return { dir, src, nas: path.join(dir, 'nas'), snap: path.join(dir, 'nas', 'zolder', 'files', '2026-11-28') }
}

const sha256sum = (f: string) => sh(`sha256sum '${f}'`).split(' ')[0]!

t.test(
  'a file that keeps growing while copied is stored as read, marked, and the snapshot still verifies and restores',
  async (t) => {
    const { src, nas, snap } = station(t)
    const log = path.join(src, 'detections.log')
    writeFileSync(log, 'x'.repeat(300000))
    const m = (await runFiles(
      { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
      {
        log: silent,
        now,
        afterCopy: async (abs) => (abs === log ? appendFileSync(log, 'one more detection\n') : undefined),
      },
    ))!
    const stored = path.join(snap, log)
    const e = m.entries.find((x) => x.path === log)!
    t.match(
      e,
      { type: 'file', changed: true, size: statSync(stored).size, sha256: sha256sum(stored) },
      'the manifest records the bytes actually stored',
    )
    t.equal(statSync(stored).size, 300000 + 19, 'the second copy, with the first append')
    t.match(m, { result: 'partial', changed: [log], unreadable: [], vanished: [] })
    await t.resolves(verifySnapshot(snap), 'verify passes')
    const target = path.join(tmp(t), 'back')
    await restoreSnapshot(snap, target)
    t.equal(sha256sum(path.join(target, log)), e.sha256, 'restore passes and gives the stored bytes')
  },
)

t.test('a file that changes once while copied is copied again and not marked', async (t) => {
  const { src, nas, snap } = station(t)
  const conf = path.join(src, 'BirdNET-Pi', 'scripts', 'birdnet.conf')
  const m = (await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    {
      log: silent,
      now,
      afterCopy: async (abs, attempt) =>
        abs === conf && attempt === 1 ? appendFileSync(conf, 'CONFIDENCE=0.7\n') : undefined,
    },
  ))!
  t.equal(m.result, 'ok')
  t.equal(m.entries.find((e) => e.path === conf)!.changed, undefined)
  t.equal(readFileSync(path.join(snap, conf), 'utf8'), 'LATITUDE=52.1\nCONFIDENCE=0.7\n')
})

t.test('the CLI: a file still changing makes the run partial with exit 33, named in the output', async (t) => {
  const { src, nas } = station(t)
  // A writer that appends for the whole run: every copy of it sees it grow.
  const busy = path.join(src, 'busy.log')
  writeFileSync(busy, Buffer.alloc(64 * 2 ** 20, 1))
  const child = (await import('node:child_process')).spawn('bash', ['-c', `while :; do echo line >> '${busy}'; done`])
  t.teardown(() => child.kill())
  const r = await runCli(['files', '--path', src, '--dest', nas, '--station', 'zolder'])
  t.equal(r.code, 33)
  t.match(r.stderr, `changed while copied (stored as read): ${busy}`)
})

t.test('a file swapped for a symlink between listing and opening is not followed', async (t) => {
  const { dir, src, nas, snap } = station(t)
  const secret = path.join(dir, 'shadow')
  writeFileSync(secret, 'root:$6$secret-hash:19000:0:99999:7:::\n')
  const swapped = path.join(src, 'notes.txt')
  writeFileSync(swapped, 'harmless\n')
  const m = (await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    {
      log: silent,
      now,
      beforeFile: async (abs) => {
        if (abs !== swapped) return
        rmSync(abs)
        symlinkSync(secret, abs)
      },
    },
  ))!
  t.match(
    m.entries.find((e) => e.path === swapped),
    { type: 'symlink', target: secret },
    'recorded as the symlink it became',
  )
  t.ok(lstatSync(path.join(snap, swapped)).isSymbolicLink())
  const everything = listTree(snap)
    .map((f) => readFileSync(path.join(snap, f), 'utf8'))
    .join('')
  t.notMatch(everything, 'secret-hash', 'the root-only file was not copied')
})

t.test('a file swapped for a FIFO is never read and does not hang the job', async (t) => {
  const { src, nas } = station(t)
  const swapped = path.join(src, 'pipe')
  writeFileSync(swapped, 'x')
  const m = (await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    {
      log: silent,
      now,
      beforeFile: async (abs) => {
        if (abs !== swapped) return
        rmSync(abs)
        sh(`mkfifo '${abs}'`)
      },
    },
  ))!
  t.match(
    m.entries.find((e) => e.path === swapped),
    { type: 'other' },
  )
  t.equal(m.result, 'ok')
})

t.test("the database job's databases and their -wal/-shm are left out, with a log line naming them", async (t) => {
  const { src, nas, snap } = station(t)
  const db = path.join(src, 'BirdNET-Pi', 'scripts', 'birds.db')
  for (const x of ['', '-wal', '-shm']) writeFileSync(db + x, 'sqlite')
  const lines: Array<Record<string, unknown>> = []
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) })
  const m = (await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder', databases: [db] },
    { log, now },
  ))!
  t.notOk(
    m.entries.some((e) => e.path.startsWith(db)),
    'none of them in the manifest',
  )
  t.notOk(existsSync(path.join(snap, db)))
  t.ok(
    lines.some((l) => String(l.msg).includes(`${db}-wal`) && String(l.msg).includes('database job')),
    'the log names them',
  )
  // The CLI takes them from the database job's own setting.
  const conf = path.join(tmp(t), 'sd-backup.conf')
  writeFileSync(conf, `[database]\ndb = ${db}\n`)
  rmSync(path.join(nas, 'zolder', 'files'), { recursive: true })
  const r = await runCli(['files', '--config', conf, '--path', src, '--dest', nas, '--station', 'zolder'])
  t.equal(r.code, 0)
  t.notOk(existsSync(path.join(snap, db)), 'left out by the CLI too')
})

t.test('a --path that is a symlink is recorded as the link and followed', async (t) => {
  const { dir, nas, snap } = station(t)
  const real = path.join(dir, 'opt', 'birdnet')
  mkdirSync(real, { recursive: true })
  writeFileSync(path.join(real, 'model.conf'), 'm\n')
  const link = path.join(dir, 'birdnet-link')
  symlinkSync(real, link)
  const lines: string[] = []
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) })
  const m = (await runFiles(
    { paths: [link], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    { log, now },
  ))!
  t.match(
    m.entries.find((e) => e.path === link),
    { type: 'symlink', target: real },
  )
  t.equal(readFileSync(path.join(snap, real, 'model.conf'), 'utf8'), 'm\n', 'what it points to is copied')
  t.ok(lines.some((l) => l.includes('is a symlink to') && l.includes('following it')))
})

t.test('names that are not UTF-8 are copied and recorded losslessly, and restore gives them back', async (t) => {
  const { src, nas, snap } = station(t)
  const raw = Buffer.concat([Buffer.from(src + '/caf'), Buffer.from([0xe9]), Buffer.from('.txt')]) // latin-1 'café.txt'
  writeFileSync(raw, 'latin-1 name\n')
  const m = (await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    { log: silent, now },
  ))!
  t.same(m.vanished, [], 'not reported as vanished')
  const e = m.entries.find((x) => x.rawPath !== undefined)!
  t.same(Buffer.from(e.rawPath!, 'base64'), raw, 'the exact bytes are in the manifest')
  t.equal(readFileSync(Buffer.concat([Buffer.from(snap), raw]), 'utf8'), 'latin-1 name\n')
  await t.resolves(verifySnapshot(snap))
  const target = path.join(tmp(t), 'back')
  await restoreSnapshot(snap, target)
  t.equal(readFileSync(Buffer.concat([Buffer.from(target), raw]), 'utf8'), 'latin-1 name\n')
})

t.test('a path too long to store makes that file unreadable, never the snapshot failed', async (t) => {
  const { src, nas } = station(t)
  let deep = src
  while (deep.length < 3900) deep = path.join(deep, 'd'.repeat(200))
  mkdirSync(deep, { recursive: true })
  writeFileSync(path.join(deep, 'f'), 'deep\n')
  const m = (await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    { log: silent, now },
  ))!
  t.equal(m.result, 'partial')
  t.ok(m.unreadable.length > 0, `${m.unreadable.length} paths could not be named on the NAS`)
  t.ok(
    m.entries.some((e) => e.path.endsWith('birdnet.conf')),
    'the rest is there',
  )
})

t.test('what lands on the NAS is private: files 0600, directories 0700', async (t) => {
  const { src, nas, snap } = station(t)
  await runFiles({ paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' }, { log: silent, now })
  const modes = new Set<string>()
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, n.name)
      if (n.isSymbolicLink()) continue
      modes.add(`${n.isDirectory() ? 'd' : 'f'}${(lstatSync(p).mode & 0o777).toString(8)}`)
      if (n.isDirectory()) walk(p)
    }
  }
  walk(path.join(nas, 'zolder'))
  t.same([...modes].sort(), ['d700', 'f600'])
  t.equal(statSync(snap).mode & 0o777, 0o700)
})
