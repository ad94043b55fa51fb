import t, { type Test } from 'tap'
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { runFiles } from '../../lib/files/run-files.js'
import { verifySnapshot } from '../../lib/verify/verify-snapshot.js'
import { runCli } from '../helpers/cli.js'
import { isRoot } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { SNAPSHOT_MANIFEST } from '../../lib/dest/layout.js'

const silent = pino({ level: 'silent' })

// A snapshot of a small station tree: a config, a script (owned by uid 1234 as root), a symlink.
async function snapshot(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'home/pi')
  mkdirSync(path.join(src, 'scripts'), { recursive: true })
  writeFileSync(path.join(src, 'scripts/birdnet.conf'), 'LATITUDE=52.1\n')
  writeFileSync(path.join(src, 'scripts/analyze.sh'), '#!/bin/sh\necho hi\n')
  chmodSync(path.join(src, 'scripts/analyze.sh'), 0o750)
  if (isRoot) chownSync(path.join(src, 'scripts/analyze.sh'), 1234, 2345)
  symlinkSync('scripts/birdnet.conf', path.join(src, 'birdnet.conf'))
  const nas = path.join(dir, 'nas')
  await runFiles(
    { paths: [src], excludes: [], dest: nas, mount: undefined, station: 'zolder' },
    { log: silent, now: () => new Date(2026, 10, 22, 2) },
  )
  return { dir, src, snap: path.join(nas, 'zolder/files/2026-11-22') }
}

t.test('an intact snapshot passes', async (t) => {
  const { snap } = await snapshot(t)
  const r = await runCli(['verify', snap])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^OK files .*: \d+ entries match their manifest \(sizes and SHA-256\)/)
})

t.test('changed, missing and replaced entries are each named', async (t) => {
  const { src, snap } = await snapshot(t)
  const at = (p: string) => path.join(snap, src, p)
  writeFileSync(at('scripts/birdnet.conf'), 'LATITUDE=52.2\n') // same size, other bytes
  const err = await verifySnapshot(snap).catch((e: unknown) => e)
  t.match(err, { code: 'SDB_BACKUP_CORRUPT', file: snap, where: { path: path.join(src, 'scripts/birdnet.conf') } })
  t.match(
    (err as Error).message,
    /1 of \d+ entries differ from the manifest: .*birdnet\.conf: SHA-256 [0-9a-f]{64} differs from the manifest's$/,
  )
  rmSync(at('scripts/analyze.sh'))
  rmSync(at('birdnet.conf'))
  writeFileSync(at('birdnet.conf'), 'x')
  const three = String(await verifySnapshot(snap).catch((e: Error) => e.message))
  t.match(three, /3 of \d+ entries differ/)
  t.match(three, /analyze\.sh: missing/)
  t.match(three, /birdnet\.conf: not a symlink to scripts\/birdnet\.conf/)
  writeFileSync(at('scripts/birdnet.conf'), 'longer than before\n')
  await t.rejects(verifySnapshot(snap), { message: /birdnet\.conf: 19 bytes, the manifest says 14/ })
  const r = await runCli(['verify', snap])
  t.equal(r.code, 19)
})

t.test("a snapshot without its manifest, or with another snapshot's", async (t) => {
  const { snap } = await snapshot(t)
  const m = JSON.parse(readFileSync(path.join(snap, SNAPSHOT_MANIFEST), 'utf8'))
  writeFileSync(path.join(snap, SNAPSHOT_MANIFEST), JSON.stringify({ ...m, snapshot: '2026-11-21' }))
  t.equal((await runCli(['verify', snap])).code, 18)
  rmSync(path.join(snap, SNAPSHOT_MANIFEST))
  t.equal((await runCli(['verify', snap])).code, 17)
})

t.test('restore --target puts files back with the owner, group and mode of the manifest', async (t) => {
  const { dir, src, snap } = await snapshot(t)
  const target = path.join(dir, 'restored')
  const r = await runCli(['restore', snap, '--target', target])
  t.equal(r.code, 0, r.stderr)
  const script = path.join(target, src, 'scripts/analyze.sh')
  const st = statSync(script)
  t.same([st.mode & 0o7777, readFileSync(script, 'utf8')], [0o750, '#!/bin/sh\necho hi\n'])
  if (isRoot) t.same([st.uid, st.gid], [1234, 2345], 'owners from the manifest')
  t.match(r.stderr, isRoot ? /with owners, modes and times/ : /owners need root/)
  t.equal(lstatSync(path.join(target, src, 'birdnet.conf')).isSymbolicLink(), true)
  // Restoring again into the same, now non-empty directory: asked, and only "yes" goes ahead.
  t.match(await runCli(['restore', snap, '--target', target]), {
    code: 28,
    stderr: /no terminal to ask on; pass --yes/,
  })
  t.match(await runCli(['restore', snap, '--target', target], { stdin: 'no\n' }), {
    code: 28,
    stderr: /the answer was not yes/,
  })
  t.match(await runCli(['restore', snap, '--target', target], { stdin: 'yes\n' }), { code: 0 })
  t.equal((await runCli(['restore', snap, '--target', target, '--yes'])).code, 0)
  t.equal(lstatSync(path.join(target, src, 'birdnet.conf')).isSymbolicLink(), true, 'an existing symlink is replaced')
  t.match(await runCli(['restore', snap]), { code: 2, stderr: /restoring a files snapshot needs --target DIR/ })
})

t.test('a damaged snapshot is not restored', async (t) => {
  const { dir, src, snap } = await snapshot(t)
  writeFileSync(path.join(snap, src, 'scripts/birdnet.conf'), 'changed on the NAS\n')
  const target = path.join(dir, 'restored')
  t.equal((await runCli(['restore', snap, '--target', target])).code, 19)
  t.throws(() => statSync(path.join(target, src)), { code: 'ENOENT' })
})
