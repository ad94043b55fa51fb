import { randomBytes } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { JobLockedError } from '../errors.js'
import { fileMode } from '../dest/modes.js'
import { destError } from '../image/write-atomic.js'

// Who holds a lock: written into the lock file so a person (and `status`) can tell.
export interface LockHolder {
  readonly pid: number
  readonly host: string
  readonly started: string
}

export interface HeldLock {
  readonly path: string
  release(): Promise<void>
}

// Whether a process of this host is alive; injectable for tests.
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

// One lock per station and job kind, as DIR/.lock-JOB beside that station's
// backups on the NAS: the hourly database job may run during the weekly image,
// but two runs of one job never overlap. A lock left by a dead process of this
// host is taken over; one from another host is only reported.
export async function acquireJobLock(
  stationDir: string,
  job: string,
  opts: { host?: string; alive?: (pid: number) => boolean; now?: () => Date } = {},
): Promise<HeldLock> {
  const file = path.join(stationDir, `.lock-${job}`)
  const me: LockHolder = { pid: process.pid, host: opts.host ?? os.hostname(), started: (opts.now ?? (() => new Date()))().toISOString() }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await open(file, 'wx', fileMode())
      try {
        await h.writeFile(`${JSON.stringify(me)}\n`)
        await h.sync()
      } finally {
        await h.close()
      }
      return { path: file, release: () => rm(file, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw destError(file, 0, err)
    }
    const holder = await readLockHolder(file)
    if (!holder) continue // released between our create and our read: try again
    if (holder.host !== me.host || (opts.alive ?? pidAlive)(holder.pid)) throw new JobLockedError(file, job, holder)
    // Stale: move it aside under a unique name, so two takers cannot both remove a fresh lock.
    const aside = `${file}.stale-${randomBytes(3).toString('hex')}`
    await rename(file, aside).then(
      () => rm(aside, { force: true }),
      () => undefined,
    )
  }
  const holder = await readLockHolder(file)
  throw new JobLockedError(file, job, holder ?? { pid: 0, host: 'unknown', started: 'unknown' })
}

// The holder named in a lock file; undefined when there is no lock.
export async function readLockHolder(file: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockHolder
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    // An unreadable or half-written lock still means someone holds it.
    return { pid: 0, host: 'unknown', started: 'unknown' }
  }
}
