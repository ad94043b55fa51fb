import t from 'tap'
import type { Test } from 'tap'
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  existsSync,
} from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { globToRegExp } from '../../lib/files/glob.js'
import { runFiles } from '../../lib/files/run-files.js'
import { type SnapshotManifest } from '../../lib/dest/snapshot-manifest.js'
import { isRoot, listTree, sh } from '../helpers/image.js'
import { runCli } from '../helpers/cli.js'
import { mount, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { SNAPSHOT_MANIFEST } from '../../lib/dest/layout.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'setpriv')

const silent = pino({ level: 'silent' })
const day = (d: number) => () => new Date(2026, 10, d, 2, 0)

// A station's config tree: a script, a config, a symlink, recordings to leave out.
function tree(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'home', 'pi')
  mkdirSync(path.join(src, 'BirdNET-Pi', 'scripts'), { recursive: true })
  mkdirSync(path.join(src, 'BirdSongs', 'Extracted'), { recursive: true })
  writeFileSync(path.join(src, 'BirdNET-Pi', 'scripts', 'birdnet.conf'), 'LATITUDE=52.1\n')
  writeFileSync(path.join(src, 'BirdNET-Pi', 'scripts', 'analyze.sh'), '#!/bin/sh\necho hi\n')
  chmodSync(path.join(src, 'BirdNET-Pi', 'scripts', 'analyze.sh'), 0o750)
  writeFileSync(path.join(src, 'BirdSongs', 'Extracted', 'merel.wav'), Buffer.alloc(10000, 1))
  symlinkSync('BirdNET-Pi/scripts/birdnet.conf', path.join(src, 'birdnet.conf'))
  return { dir, src, nas: path.join(dir, 'nas') }
}

function manifestOf(nas: string, snap: string): SnapshotManifest {
  return JSON.parse(
    readFileSync(path.join(nas, 'zolder', 'files', snap, SNAPSHOT_MANIFEST), 'utf8'),
  ) as SnapshotManifest
}

test('daily snapshots: unchanged files share an inode, metadata lives in the manifest', async (t) => {
  const { src, nas } = tree(t)
  const opts = { paths: [src], excludes: ['**/BirdSongs/**'], dest: nas, mount: undefined, station: 'zolder' }
  const first = (await runFiles(opts, { log: silent, now: day(28) }))!
  t.equal(first.result, 'ok')
  const snap1 = path.join(nas, 'zolder', 'files', '2026-11-28')
  const conf = path.join('BirdNET-Pi', 'scripts', 'birdnet.conf')
  t.equal(readFileSync(path.join(snap1, src, conf), 'utf8'), 'LATITUDE=52.1\n')
  t.notOk(existsSync(path.join(snap1, src, 'BirdSongs', 'Extracted', 'merel.wav')), 'recordings excluded')
  t.equal(lstatSync(path.join(snap1, src, 'birdnet.conf')).isSymbolicLink(), true)
  const script = path.join(src, 'BirdNET-Pi', 'scripts', 'analyze.sh')
  const st = statSync(script)
  t.same(
    first.entries.find((e) => e.path === script),
    {
      path: script,
      uid: st.uid,
      gid: st.gid,
      mode: 0o750,
      mtimeMs: st.mtimeMs,
      size: st.size,
      type: 'file',
      sha256: sh(`sha256sum '${script}'`).split(' ')[0],
    },
  )
  t.match(
    first.entries.find((e) => e.path === path.join(src, 'birdnet.conf')),
    { type: 'symlink', target: 'BirdNET-Pi/scripts/birdnet.conf' },
  )
  // A day later: the config changed, a script was added, nothing else.
  writeFileSync(path.join(src, conf), 'LATITUDE=52.2\n')
  utimesSync(path.join(src, conf), new Date(2026, 10, 28, 12), new Date(2026, 10, 28, 12))
  writeFileSync(path.join(src, 'new.sh'), 'new\n')
  const second = (await runFiles(opts, { log: silent, now: day(29) }))!
  const snap2 = path.join(nas, 'zolder', 'files', '2026-11-29')
  t.equal(statSync(path.join(snap2, script)).ino, statSync(path.join(snap1, script)).ino, 'unchanged: hard link')
  t.not(statSync(path.join(snap2, src, conf)).ino, statSync(path.join(snap1, src, conf)).ino, 'changed: a new copy')
  t.equal(readFileSync(path.join(snap2, src, conf), 'utf8'), 'LATITUDE=52.2\n')
  t.equal(readFileSync(path.join(snap1, src, conf), 'utf8'), 'LATITUDE=52.1\n', 'yesterday untouched')
  t.ok(second.entries.some((e) => e.path === path.join(src, 'new.sh')))
  t.same(manifestOf(nas, '2026-11-29'), second)
  t.same(
    listTree(path.join(nas, 'zolder', 'files')).filter((f) => f.includes('in-progress')),
    [],
  )
  await t.rejects(runFiles(opts, { log: silent, now: day(29) }), { code: 'SDB_BACKUP_EXISTS', path: snap2 })
  t.equal(
    await runFiles({ ...opts, onceADay: true }, { log: silent, now: day(29) }),
    undefined,
    "--once-a-day: today's snapshot exists, nothing to do",
  )
  const cli = await runCli(['files', '--once-a-day', '--path', src, '--dest', nas, '--station', 'zolder'])
  t.equal(cli.code, 0)
})

test('the NAS inside a backed-up path is never copied into itself', async (t) => {
  const { dir, src } = tree(t)
  const nas = path.join(src, 'nas') // e.g. --path / with the NAS mounted below it
  const m = (await runFiles(
    { paths: [dir], excludes: ['**/BirdSongs/**'], dest: nas, mount: undefined, station: 'zolder' },
    { log: silent, now: day(28) },
  ))!
  t.notOk(
    m.entries.some((e) => e.path.startsWith(nas)),
    'nothing under the destination',
  )
  t.ok(m.entries.some((e) => e.path.endsWith('birdnet.conf')))
})

test('a file that vanishes mid-run makes the run partial, named and counted', async (t) => {
  const { src, nas } = tree(t)
  const gone = path.join(src, 'BirdNET-Pi', 'scripts', 'birdnet.conf')
  const m = await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    { log: silent, now: day(28), beforeFile: async (abs) => (abs === gone ? rmSync(abs) : undefined) },
  )
  t.match(m, { result: 'partial', vanished: [gone], unreadable: [] })
  t.notOk(m!.entries.some((e) => e.path === gone))
  t.notOk(existsSync(path.join(nas, 'zolder', 'files', '2026-11-28', gone)), 'no half copy')
})

test('as the squashed user: unreadable files make a partial run (exit 23); nothing is chowned', async (t) => {
  if (!needsRoot(t)) return
  const { dir, src, nas } = tree(t)
  for (const p of [dir, path.join(dir, 'home'), src]) chmodSync(p, 0o755)
  sh(`chmod -R a+rX '${src}'`)
  const secret = path.join(src, 'BirdNET-Pi', 'scripts', 'secret.key')
  writeFileSync(secret, 'k')
  chmodSync(secret, 0o600)
  mkdirSync(path.join(nas, 'zolder'), { recursive: true })
  chownSync(nas, 65534, 65534)
  chownSync(path.join(nas, 'zolder'), 65534, 65534) // the station directory exists on the NAS, writable by nobody
  const cli = path.resolve('dist/bin/sd-backup.js')
  const out = sh(
    `env -u NODE_OPTIONS setpriv --reuid=65534 --regid=65534 --clear-groups node '${cli}' files --path '${src}' --dest '${nas}' --station zolder 2>&1 >/dev/null; echo "exit=$?"`,
  )
  t.match(
    out,
    new RegExp(
      `files PARTIAL: snapshot \\d{4}-\\d\\d-\\d\\d, \\d+ files; 1 not copied whole:\\nunreadable: ${secret.replace(/[.]/g, '\\.')}\\nexit=23\\n$`,
    ),
  )
  const snap = listTree(path.join(nas, 'zolder', 'files'))
  t.ok(
    snap.some((f) => f.endsWith('birdnet.conf')),
    'the readable files are there',
  )
  t.notOk(snap.some((f) => f.endsWith('secret.key')))
  const conf = snap.find((f) => f.endsWith('scripts/birdnet.conf'))!
  t.equal(
    statSync(path.join(nas, 'zolder', 'files', conf)).uid,
    65534,
    'owned by the squashed user: no chown was tried',
  )
  const m = JSON.parse(
    readFileSync(path.join(nas, 'zolder', 'files', conf.split('/')[0]!, SNAPSHOT_MANIFEST), 'utf8'),
  ) as SnapshotManifest
  t.match(
    m.entries.find((e) => e.path.endsWith('birdnet.conf') && e.type === 'file'),
    { uid: 0, gid: 0 },
    'the real owner is in the manifest',
  )
  t.match(JSON.parse(readFileSync(path.join(nas, 'zolder', 'status.json'), 'utf8')), {
    jobs: { files: { result: 'partial', exitCode: 23 } },
  })
})

test('a full NAS fails the run and removes the in-progress snapshot', async (t) => {
  if (!needsRoot(t)) return
  const { dir, src } = tree(t)
  writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(3 * 2 ** 20, 7))
  const nas = mount(t, 'tmpfs', path.join(dir, 'small'), '-t tmpfs -o size=1m')
  await t.rejects(
    runFiles(
      { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
      { log: silent, now: day(28) },
    ),
    { code: 'SDB_DEST_FULL' },
  )
  t.same(listTree(nas), [], 'no snapshot, no in-progress directory, lock released')
  t.ok(isRoot)
})

test('globs: * within a name, ** across directories, ? one character', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['**/BirdSongs/**', '/home/pi/BirdSongs/Extracted/a.wav', true],
    ['**/BirdSongs/**', '/home/pi/BirdSong/a.wav', false],
    ['/home/*/BirdNET-Pi/birdnet/**', '/home/pi/BirdNET-Pi/birdnet/model.tflite', true],
    ['/home/*/BirdNET-Pi/birdnet/**', '/home/pi/x/BirdNET-Pi/birdnet/m', false],
    ['**/*.swp', '/etc/.hosts.swp', true],
    ['/etc/ssh/ssh_host_?sa_key', '/etc/ssh/ssh_host_rsa_key', true],
    ['/etc/a+b', '/etc/a+b', true],
  ]
  for (const [glob, p, want] of cases)
    t.equal(globToRegExp(glob).test(p), want, `${glob} ${want ? 'matches' : 'misses'} ${p}`)
})

test('restore applies owner, group, mode and mtime from the manifest, not from the NAS', async (t) => {
  if (!needsRoot(t)) return
  const { src, nas } = tree(t)
  const script = path.join(src, 'BirdNET-Pi', 'scripts', 'analyze.sh')
  chownSync(script, 1000, 1001)
  chmodSync(script, 0o4750)
  utimesSync(script, new Date(2025, 0, 2), new Date(2025, 0, 2))
  await runFiles(
    { paths: [src], excludes: ['**/BirdSongs/**'], dest: nas, mount: undefined, station: 'zolder' },
    { log: silent, now: day(28) },
  )
  const snap = path.join(nas, 'zolder', 'files', '2026-11-28')
  // What the NAS did to the copy (root squash): another owner, plain modes.
  chownSync(path.join(snap, script), 65534, 65534)
  chmodSync(path.join(snap, script), 0o644)
  const target = path.join(tmp(t), 'restore')
  const { restoreSnapshot } = await import('../../lib/restore/restore-snapshot.js')
  const r = await restoreSnapshot(snap, target, { keepSetuid: true })
  t.equal(r.owners, true)
  const st = statSync(path.join(target, script))
  t.same([st.uid, st.gid, st.mode & 0o7777, st.mtimeMs], [1000, 1001, 0o4750, new Date(2025, 0, 2).getTime()])
  const plain = path.join(tmp(t), 'restore')
  t.match(await restoreSnapshot(snap, plain), { setidDropped: 1 })
  t.equal(statSync(path.join(plain, script)).mode & 0o7777, 0o750, 'without keepSetuid the setuid bit is not applied')
  t.equal(readFileSync(path.join(target, script), 'utf8'), '#!/bin/sh\necho hi\n')
  t.equal(lstatSync(path.join(target, src, 'birdnet.conf')).isSymbolicLink(), true)
})
