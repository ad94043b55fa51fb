import type { Logger } from 'pino'
import { SdBackupError } from '../errors.js'
import { exitCodeFor } from '../exit-codes.js'
import { recordJobResult, type JobName, type JobRecord } from '../status/job-status.js'

// Failures where writing to DEST could land on the SD card or clash with a running
// job: their status is logged (and mailed), never written to the NAS.
const NOT_ON_NAS = new Set(['SDB_NAS_NOT_MOUNTED', 'SDB_DEST_OUTSIDE_MOUNT', 'SDB_DEST_ON_SOURCE', 'SDB_JOB_LOCKED', 'SDB_USAGE', 'SDB_CONFIG'])

export type JobOutcome = { readonly ok: true; readonly message: string } | { readonly ok: false; readonly error: unknown }

// What every job does when it ends: the result into DEST/STATION/status.json, as
// long as that is safe. Never changes the job's own result: a status that cannot be
// written is logged as a warning.
export async function finishJob(dest: string, station: string, job: JobName, started: Date, outcome: JobOutcome, log: Logger): Promise<JobRecord | undefined> {
  const code = outcome.ok ? undefined : outcome.error instanceof SdBackupError ? outcome.error.code : 'SDB_INTERNAL'
  const record: JobRecord = {
    result: outcome.ok ? 'ok' : 'failed',
    finished: new Date().toISOString(),
    durationSeconds: (Date.now() - started.getTime()) / 1000,
    exitCode: outcome.ok ? 0 : exitCodeFor(outcome.error),
    message: outcome.ok ? outcome.message : String((outcome.error as Error)?.message ?? outcome.error),
    ...(code ? { code } : {}),
  }
  if (code && NOT_ON_NAS.has(code)) return record
  try {
    await recordJobResult(dest, station, job, record)
  } catch (err) {
    log.warn({ err }, `could not record the result in ${dest}/${station}/status.json: ${(err as Error).message}`)
  }
  return record
}
