import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { JobLockedError, LockUnreadableError } from '../../lib/errors.js'
import { acquireJobLock, lockHeld, pidAlive } from '../../lib/dest/job-lock.js'
import { processIdentity } from '../../lib/system/process-identity.js'
import { image, listTree, mixedContent } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

const now = () => new Date('2026-11-29T03:00:00Z')

t.test('one run per station and job: the second is refused with the holder named', async (t) => {
  const dir = tmp(t)
  const a = await acquireJobLock(dir, 'image', { host: 'zolder', now })
  const holder = {
    pid: process.pid,
    host: 'zolder',
    started: '2026-11-29T03:00:00.000Z',
    ...processIdentity(process.pid),
  }
  t.same(JSON.parse(readFileSync(a.path, 'utf8')), holder)
  t.ok(holder.startTicks! > 0 && holder.boot!.length > 0, 'the holder records its start time and boot')
  await t.rejects(
    acquireJobLock(dir, 'image', { host: 'zolder', now }),
    new JobLockedError(path.join(dir, '.lock-image'), 'image', holder),
  )
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
  await t.rejects(acquireJobLock(dir, 'image', { host: 'zolder', alive: () => false }), {
    code: 'SDB_JOB_LOCKED',
    holder: { host: 'berging' },
  })
  writeFileSync(file, '{"pid": 12')
  await t.rejects(
    acquireJobLock(dir, 'image', { host: 'zolder', alive: () => false }),
    new LockUnreadableError(file, 'it is not JSON'),
    'an unreadable lock names the file and how to remove it',
  )
  t.equal(pidAlive(process.pid), true)
  t.equal(pidAlive(2 ** 22 + 12345), false)
})

t.test(
  'a lock whose pid now belongs to another process is stale: a reused pid, or an unrelated live one',
  async (t) => {
    const dir = tmp(t)
    const file = path.join(dir, '.lock-files')
    const me = processIdentity(process.pid)!
    // This pid, but a start time that is not this process's: the holder died and the pid was reused.
    writeFileSync(
      file,
      JSON.stringify({ pid: process.pid, host: 'zolder', started: 'x', startTicks: me.startTicks - 1, boot: me.boot }),
    )
    const l = await acquireJobLock(dir, 'files', { host: 'zolder' })
    await l.release()
    writeFileSync(
      file,
      JSON.stringify({
        pid: process.pid,
        host: 'zolder',
        started: 'x',
        startTicks: me.startTicks,
        boot: 'another-boot',
      }),
    )
    await (await acquireJobLock(dir, 'files', { host: 'zolder' })).release()
    t.pass('a lock from before the last boot is stale')
    // An old-style lock naming a live process that is not sd-backup (pid 1, the init system).
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'zolder', started: 'x' }))
    await (await acquireJobLock(dir, 'files', { host: 'zolder' })).release()
    t.pass('an unrelated live process does not hold the lock')
    t.equal(
      lockHeld({ pid: process.pid, host: 'zolder', started: 'x', ...me }, 'zolder'),
      true,
      'the same process holds it',
    )
    t.equal(lockHeld({ pid: 1, host: 'berging', started: 'x' }, 'zolder'), true, 'another host is assumed to')
    writeFileSync(file, '')
    const started = Date.now()
    await t.rejects(acquireJobLock(dir, 'files', { host: 'zolder' }), {
      code: 'SDB_LOCK_UNREADABLE',
      message: /it is empty\): if no sd-backup job of this station is running, remove it \(rm '.*\.lock-files'\)/,
    })
    t.ok(Date.now() - started >= 900, 'an empty lock (one being written) is read again for a second first')
    writeFileSync(file, JSON.stringify({ host: 'zolder' }))
    await t.rejects(acquireJobLock(dir, 'files', { host: 'zolder' }), {
      code: 'SDB_LOCK_UNREADABLE',
      reason: 'it names no pid and host',
    })
    t.equal(processIdentity(2 ** 22 + 12345), undefined)
  },
)

t.test(
  'two image runs of one station contend: the second exits with the lock error, the first completes',
  async (t) => {
    const dir = tmp(t)
    const src = path.join(dir, 'src.img')
    writeFileSync(src, mixedContent(2 * 2 ** 20, 1))
    let started!: () => void
    const writing = new Promise<void>((r) => (started = r))
    const first = image(
      dir,
      src,
      { chunkSize: 65536 },
      {
        beforeWrite: async () => {
          started()
          await sleep(5)
        },
      },
    )
    await writing
    await t.rejects(image(dir, src, { level: 1 }), {
      name: 'JobLockedError',
      code: 'SDB_JOB_LOCKED',
      path: path.join(dir, 'nas', 'zolder', '.lock-image'),
      holder: { pid: process.pid },
    })
    const r = await first
    t.match(listTree(path.join(dir, 'nas')), [
      'zolder/images/' + r.manifest.image,
      'zolder/images/' + r.manifest.image + '.manifest.json',
    ])
    t.equal(listTree(path.join(dir, 'nas')).length, 2, 'lock released, no partial of the refused run')
  },
)
