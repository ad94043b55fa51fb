import { randomBytes } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import os from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { errnoText, JobLockedError, LockUnreadableError } from '../errors.js'
import { processIdentity, runsSdBackup } from '../system/process-identity.js'
import { fileMode } from './modes.js'
import { destError } from './write-atomic.js'
import { lockPath } from './layout.js'

// Who holds a lock: written into the lock file so a person (and `status`) can tell.
export interface LockHolder {
  readonly pid: number
  readonly host: string
  readonly started: string
  /** The holder's start time and boot: a later process with the same pid is not the holder. */
  readonly startTicks?: number
  readonly boot?: string
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

// Whether a lock's holder still runs, seen from `host`: a holder on another host is
// assumed to; on this host the pid must be alive and be the same process (same start
// time and boot), or, for a lock that records neither, a process running sd-backup.
export function lockHeld(
  holder: LockHolder,
  host: string,
  alive: (pid: number) => boolean = pidAlive,
  identify = processIdentity,
  ours = runsSdBackup,
): boolean {
  if (holder.host !== host) return true
  if (!alive(holder.pid)) return false
  if (holder.startTicks === undefined) return ours(holder.pid)
  const now = identify(holder.pid)
  return now !== undefined && now.startTicks === holder.startTicks && now.boot === holder.boot
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
  const file = lockPath(stationDir, job)
  const me: LockHolder = {
    pid: process.pid,
    host: opts.host ?? os.hostname(),
    started: (opts.now ?? (() => new Date()))().toISOString(),
    ...processIdentity(process.pid),
  }
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
    const holder = await readHolderPatiently(file)
    if (!holder) continue // released between our create and our read: try again
    if (lockHeld(holder, me.host, opts.alive)) throw new JobLockedError(file, job, holder)
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

// The holder named in a lock file; undefined when there is no lock. A file that is
// not a lock this tool wrote is a LockUnreadableError naming it.
export async function readLockHolder(file: string): Promise<LockHolder | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new LockUnreadableError(file, errnoText(err), { cause: err })
  }
  let v: Partial<LockHolder>
  try {
    v = JSON.parse(text) as Partial<LockHolder>
  } catch {
    throw new LockUnreadableError(file, text.length === 0 ? 'it is empty' : 'it is not JSON')
  }
  if (
    typeof v !== 'object' ||
    v === null ||
    !Number.isInteger(v.pid) ||
    (v.pid as number) <= 0 ||
    typeof v.host !== 'string' ||
    typeof v.started !== 'string'
  ) {
    throw new LockUnreadableError(file, 'it names no pid and host')
  }
  return v as LockHolder
}

// A lock being written by a job that just created it is empty for a moment: read
// again for up to a second before calling it unreadable.
async function readHolderPatiently(file: string): Promise<LockHolder | undefined> {
  for (let i = 0; ; i++) {
    try {
      return await readLockHolder(file)
    } catch (err) {
      if (i >= 10) throw err
      await sleep(100)
    }
  }
}
