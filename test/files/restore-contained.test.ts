import t from 'tap'
import type { Test } from 'tap'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { restoreSnapshot } from '../../lib/restore/restore-snapshot.js'
import { runFiles } from '../../lib/files/run-files.js'
import { type FileEntry, type SnapshotManifest } from '../../lib/dest/snapshot-manifest.js'
import { verifySnapshot } from '../../lib/verify/verify-snapshot.js'
import { runCli } from '../helpers/cli.js'
import { sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { SNAPSHOT_MANIFEST } from '../../lib/dest/layout.js'

// A snapshot on the NAS is written by whoever can write to the share. These tests
// tamper with real snapshots the way another station could, and check that restore
// and verify stay inside their directories.

const silent = pino({ level: 'silent' })

async function snapshot(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'etc')
  mkdirSync(src)
  writeFileSync(path.join(src, 'hosts'), '127.0.0.1 localhost\n')
  const nas = path.join(dir, 'nas')
  await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    { log: silent, now: () => new Date(2026, 10, 28, 2) },
  )
  const snap = path.join(nas, 'zolder', 'files', '2026-11-28')
  const manifestFile = path.join(snap, SNAPSHOT_MANIFEST)
  const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as SnapshotManifest
  const tamper = (entries: FileEntry[]) => writeFileSync(manifestFile, JSON.stringify({ ...m, entries }))
  const sha = sh(`sha256sum '${path.join(snap, src, 'hosts')}'`).split(' ')[0]!
  return { dir, src, snap, m, tamper, sha, host: path.join(dir, 'host') }
}

const file = (p: string, sha: string, extra: Partial<FileEntry> = {}): FileEntry => ({
  path: p,
  type: 'file',
  uid: 0,
  gid: 0,
  mode: 0o644,
  mtimeMs: 0,
  size: 20,
  sha256: sha,
  ...extra,
})

t.test('a manifest path with .. is refused with exit 18 before anything is written', async (t) => {
  const { dir, snap, m, tamper, sha } = await snapshot(t)
  for (const bad of [
    '/../../escape',
    '/etc/../../escape',
    'relative/path',
    '/etc//hosts',
    '/etc/./hosts',
    '/etc/ho\u0000sts',
  ]) {
    tamper([...m.entries, file(bad, sha)])
    const target = path.join(dir, `target-${bad.length}`)
    await t.rejects(
      restoreSnapshot(snap, target),
      { code: 'SDB_MANIFEST_MISMATCH', message: /not absolute and normalised/ },
      JSON.stringify(bad),
    )
    t.notOk(existsSync(target), `${JSON.stringify(bad)}: nothing created`)
  }
  t.notOk(
    existsSync(path.join(dir, 'escape')) || existsSync(path.join(path.dirname(dir), 'escape')),
    'nothing written outside',
  )
  const cli = await runCli(['restore', snap, '--target', path.join(dir, 'cli-target'), '--yes'])
  t.equal(cli.code, 18)
})

t.test('malformed entries are refused before anything is allocated (exit 18)', async (t) => {
  const { dir, snap, m, tamper, sha } = await snapshot(t)
  const cases: Array<[string, unknown]> = [
    ['negative size', file('/x', sha, { size: -1 })],
    ['fractional mode', file('/x', sha, { mode: 1.5 })],
    ['mode beyond 07777', file('/x', sha, { mode: 0o100644 })],
    ['no SHA-256', file('/x', sha, { sha256: 'nothex' })],
    ['unknown type', { ...file('/x', sha), type: 'device' }],
    ['null entry', null],
    ['a path listed twice', m.entries[0]],
  ]
  for (const [what, e] of cases) {
    tamper([...m.entries, e as FileEntry])
    await t.rejects(verifySnapshot(snap), { code: 'SDB_MANIFEST_MISMATCH' }, what)
    await t.rejects(restoreSnapshot(snap, path.join(dir, 't')), { code: 'SDB_MANIFEST_MISMATCH' }, what)
  }
  t.notOk(existsSync(path.join(dir, 't')))
})

t.test("a symlink in the snapshot is never gone through: not by verify, not by restore's later entries", async (t) => {
  const { dir, snap, m, tamper, host } = await snapshot(t)
  mkdirSync(path.join(host, 'sub'), { recursive: true })
  chmodSync(path.join(host, 'sub'), 0o755)
  writeFileSync(path.join(host, 'sub', 'passwd'), 'host file\n')
  const hostSha = sh(`sha256sum '${path.join(host, 'sub', 'passwd')}'`).split(' ')[0]!
  // On the NAS: /evil is a symlink to a host directory; the manifest lists /evil/sub as a directory (mode 0777) and a file below it.
  symlinkSync(host, path.join(snap, 'evil'))
  const dirEntry: FileEntry = { path: '/evil/sub', type: 'dir', uid: 0, gid: 0, mode: 0o777, mtimeMs: 0, size: 0 }
  tamper([
    ...m.entries,
    { path: '/evil', type: 'symlink', uid: 0, gid: 0, mode: 0o777, mtimeMs: 0, size: 0, target: host },
    dirEntry,
    file('/evil/sub/passwd', hostSha, { size: 10 }),
  ])
  await t.rejects(
    verifySnapshot(snap),
    { code: 'SDB_BACKUP_CORRUPT', message: /a directory above it is missing or a symlink/ },
    'verify does not read through the symlink',
  )
  await t.rejects(restoreSnapshot(snap, path.join(dir, 't')), { code: 'SDB_BACKUP_CORRUPT' })
  t.equal(statSync(path.join(host, 'sub')).mode & 0o777, 0o755, 'the host directory keeps its mode')
  t.equal(readFileSync(path.join(host, 'sub', 'passwd'), 'utf8'), 'host file\n')
  t.notOk(existsSync(path.join(dir, 't')), 'nothing restored')
})

t.test('a symlink already in the target is not followed (exit 34)', async (t) => {
  const { dir, snap, host } = await snapshot(t)
  mkdirSync(host)
  const target = path.join(dir, 'target')
  mkdirSync(target)
  const src = readdirSync(snap).find((n) => n !== SNAPSHOT_MANIFEST)!
  symlinkSync(host, path.join(target, src)) // TARGET/tmp -> a host directory
  await t.rejects(restoreSnapshot(snap, target), { code: 'SDB_TARGET_BLOCKED' })
  t.same(readdirSync(host), [], 'nothing written through it')
  const cli = await runCli(['restore', snap, '--target', target, '--yes'])
  t.equal(cli.code, 34)
})
