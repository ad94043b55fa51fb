import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { JobLockedError } from '../errors.js'
import { writeFileAtomic } from '../dest/write-atomic.js'
import { acquireJobLock } from '../dest/job-lock.js'
import { stationTree } from '../dest/layout.js'

// The jobs of a station, in the order of the handbook's table, with their timers.
export const JOBS = [
  { job: 'database', timer: 'sd-backup-database' },
  { job: 'files', timer: 'sd-backup-daily' },
  { job: 'image', timer: 'sd-backup-weekly' },
  { job: 'cleanup', timer: 'sd-backup-cleanup' },
] as const
export type JobName = (typeof JOBS)[number]['job']

// How one run of a job ended, as status.json keeps it.
export interface JobRecord {
  readonly result: 'ok' | 'partial' | 'failed'
  readonly finished: string
  readonly durationSeconds: number
  readonly exitCode: number
  /** The summary line on success, the error message otherwise. */
  readonly message: string
  readonly code?: string
  /** The image job's read-back check: 'skipped' when verify = false. */
  readonly verified?: 'ok' | 'failed' | 'skipped'
  /** When the job last succeeded (kept across failures, for the staleness alert). */
  readonly lastOk?: string
}

// DEST/STATION/status.json: the last run of each job, so any Pi can show every station.
export interface StationStatus {
  readonly station: string
  readonly updated: string
  readonly jobs: Partial<Record<JobName, JobRecord>>
  /** Set when status.json is there but not valid (written by another tool, or damaged): why. */
  readonly unreadable?: string
}

// Why a parsed status.json cannot be shown, or undefined.
function statusProblem(v: unknown): string | undefined {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
  if (!isObj(v) || !isObj(v.jobs)) return 'not a status object'
  for (const [job, r] of Object.entries(v.jobs)) {
    if (
      !isObj(r) ||
      typeof r.result !== 'string' ||
      typeof r.finished !== 'string' ||
      Number.isNaN(Date.parse(r.finished))
    )
      return `the ${job} record is not valid`
  }
  return undefined
}

// Reads a station's status; a missing file is a station whose jobs never ran, one
// that is not valid JSON of the right shape is 'unreadable' (the next job rewrites it).
export async function readStationStatus(dest: string, station: string): Promise<StationStatus> {
  let text: string
  try {
    text = await readFile(stationTree(dest, station).status, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { station, updated: '', jobs: {} }
    throw err
  }
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    return { station, updated: '', jobs: {}, unreadable: `not valid JSON (${(err as Error).message})` }
  }
  const problem = statusProblem(v)
  return problem ? { station, updated: '', jobs: {}, unreadable: problem } : { ...(v as StationStatus), station }
}

// Records one job's result. Several jobs of a station may end at once (the hourly
// database job during the weekly image), so the read-modify-write holds a short lock.
export async function recordJobResult(
  dest: string,
  station: string,
  job: JobName,
  record: Omit<JobRecord, 'lastOk'>,
): Promise<StationStatus> {
  const stationDir = stationTree(dest, station).root
  let lock
  for (let i = 0; ; i++) {
    try {
      lock = await acquireJobLock(stationDir, 'status')
      break
    } catch (err) {
      if (!(err instanceof JobLockedError) || i >= 50) throw err
      await sleep(100)
    }
  }
  try {
    const current = await readStationStatus(dest, station)
    const previous = current.jobs[job]
    const lastOk = record.result === 'ok' ? record.finished : previous?.lastOk
    const next: StationStatus = {
      station,
      updated: record.finished,
      jobs: { ...current.jobs, [job]: { ...record, ...(lastOk ? { lastOk } : {}) } },
    }
    await writeFileAtomic(stationTree(dest, station).status, `${JSON.stringify(next, null, 2)}\n`, { replace: true })
    return next
  } finally {
    await lock.release()
  }
}
