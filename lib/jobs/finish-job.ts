import type { Logger } from 'pino'
import type { AlertSettings } from '../alert/alert-settings.js'
import { composeJobAlert, staleKinds } from '../alert/compose-alert.js'
import { sendAlert } from '../alert/send-alert.js'
import { exitCodeFor, SdBackupError } from '../errors.js'
import {
  readStationStatus,
  recordJobResult,
  type JobName,
  type JobRecord,
  type StationStatus,
} from '../status/job-status.js'
import { checkMounted } from '../dest/check-mount.js'
import { stationTree } from '../dest/layout.js'

// Failures where writing to DEST could land on the SD card or clash with a running
// job: their status is logged (and mailed), never written to the NAS.
const NOT_ON_NAS = new Set([
  'SDB_NAS_NOT_MOUNTED',
  'SDB_DEST_OUTSIDE_MOUNT',
  'SDB_DEST_ON_SOURCE',
  'SDB_JOB_LOCKED',
  'SDB_USAGE',
  'SDB_CONFIG',
])

export type JobOutcome =
  | { readonly ok: true; readonly message: string; readonly partial?: { readonly exitCode: number } }
  | { readonly ok: false; readonly error: unknown }

export interface FinishJob {
  readonly dest: string
  /** The NAS mount: status.json is only written while it is really mounted. */
  readonly mount?: string | undefined
  readonly station: string
  readonly job: JobName
  readonly started: Date
  readonly outcome: JobOutcome
  readonly log: Logger
  readonly alerts: AlertSettings | undefined
  /** The image job's verification result, recorded in status.json. */
  readonly verified?: JobRecord['verified']
  /** The last log lines, mailed with a failure. */
  readonly logTail?: () => readonly string[]
}

// What every job does when it ends: the result into DEST/STATION/status.json (as
// long as that is safe), then an alert on failure, on success for the jobs that
// want it, and whenever a kind is overdue. Neither step changes the job's own
// result: what fails here is logged as a warning.
export async function finishJob(f: FinishJob): Promise<JobRecord> {
  const { outcome, log } = f
  const code = outcome.ok ? undefined : outcome.error instanceof SdBackupError ? outcome.error.code : 'SDB_INTERNAL'
  const record: JobRecord = {
    result: outcome.ok ? (outcome.partial ? 'partial' : 'ok') : 'failed',
    finished: new Date().toISOString(),
    durationSeconds: (Date.now() - f.started.getTime()) / 1000,
    exitCode: outcome.ok ? (outcome.partial?.exitCode ?? 0) : exitCodeFor(outcome.error),
    message: outcome.ok ? outcome.message : String((outcome.error as Error)?.message ?? outcome.error),
    ...(code ? { code } : {}),
    ...(f.verified ? { verified: f.verified } : {}),
  }
  let status: StationStatus | undefined
  const nasThere =
    f.mount === undefined ||
    (await checkMounted(f.mount, f.dest).then(
      () => true,
      () => false,
    ))
  if (nasThere && (!code || !NOT_ON_NAS.has(code))) {
    try {
      status = await recordJobResult(f.dest, f.station, f.job, record)
    } catch (err) {
      log.warn(
        { err },
        `could not record the result in ${stationTree(f.dest, f.station).status}: ${(err as Error).message}`,
      )
      status = await readStationStatus(f.dest, f.station).catch(() => undefined)
    }
  }
  if (f.alerts) {
    const stale = status ? staleKinds(status, f.alerts.maxAgeHours, new Date()) : []
    if (record.result !== 'ok' || f.alerts.onSuccess.has(f.job) || stale.length > 0) {
      await sendAlert(f.alerts, composeJobAlert(f.station, f.job, record, stale, f.logTail?.() ?? []), log)
    }
  }
  return record
}
