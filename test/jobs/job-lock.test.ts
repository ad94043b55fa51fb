import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { JobLockedError } from '../../lib/errors.js'
import { acquireJobLock, pidAlive } from '../../lib/jobs/job-lock.js'
import { image, listTree, mixedContent } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

const now = () => new Date('2026-11-29T03:00:00Z')

t.test('one run per station and job: the second is refused with the holder named', async (t) => {
  const dir = tmp(t)
  const a = await acquireJobLock(dir, 'image', { host: 'zolder', now })
  const holder = { pid: process.pid, host: 'zolder', started: '2026-11-29T03:00:00.000Z' }
  t.same(JSON.parse(readFileSync(a.path, 'utf8')), holder)
  await t.rejects(acquireJobLock(dir, 'image', { host: 'zolder', now }), new JobLockedError(path.join(dir, '.lock-image'), 'image', holder))
  const db = await acquireJobLock(dir, 'database', { host: 'zolder' })
  t.pass('another job kind of the same station may run meanwhile')
  await a.release()
  await db.release()
  const again = await acquireJobLock(dir, 'image', { host: 'zolder' })
  await again.release()
  t.same(listTree(dir), [], 'released locks leave nothing')
  t.equal(
    new JobLockedError('/n/z/.lock-image', 'image', holder).message,
    `another image run of this station is in progress (pid ${process.pid} on zolder, started 2026-11-29T03:00:00.000Z): lock /n/z/.lock-image; if that process is gone, remove the lock file`,
  )
})

t.test('a lock left by a dead process of this host is taken over; another host is only reported', async (t) => {
  const dir = tmp(t)
  const file = path.join(dir, '.lock-image')
  writeFileSync(file, JSON.stringify({ pid: 999999, host: 'zolder', started: '2026-11-22T03:00:00.000Z' }))
  const l = await acquireJobLock(dir, 'image', { host: 'zolder', alive: () => false })
  t.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid)
  await l.release()
  writeFileSync(file, JSON.stringify({ pid: 999999, host: 'berging', started: 'x' }))
  await t.rejects(acquireJobLock(dir, 'image', { host: 'zolder', alive: () => false }), { code: 'SDB_JOB_LOCKED', holder: { host: 'berging' } })
  writeFileSync(file, '{"pid": 12')
  await t.rejects(acquireJobLock(dir, 'image', { host: 'zolder', alive: () => false }), { code: 'SDB_JOB_LOCKED', holder: { pid: 0, host: 'unknown' } }, 'a torn lock file still counts as held')
  t.equal(pidAlive(process.pid), true)
  t.equal(pidAlive(2 ** 22 + 12345), false)
})

t.test('two image runs of one station contend: the second exits with the lock error, the first completes', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(2 * 2 ** 20, 1))
  let started!: () => void
  const writing = new Promise<void>((r) => (started = r))
  const first = image(dir, src, { chunkSize: 65536 }, {
    beforeWrite: async () => {
      started()
      await sleep(5)
    },
  })
  await writing
  await t.rejects(image(dir, src, { level: 1 }), { name: 'JobLockedError', code: 'SDB_JOB_LOCKED', path: path.join(dir, 'nas', 'zolder', '.lock-image'), holder: { pid: process.pid } })
  const r = await first
  t.match(listTree(path.join(dir, 'nas')), ['zolder/images/' + r.manifest.image, 'zolder/images/' + r.manifest.image + '.manifest.json'])
  t.equal(listTree(path.join(dir, 'nas')).length, 2, 'lock released, no partial of the refused run')
})
