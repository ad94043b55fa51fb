import type { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { resolveAlertSettings } from '../alert/alert-settings.js'
import { requireDest, stationOf } from '../config/common-settings.js'
import { setting, settingOr, type OptionValues } from '../config/options.js'
import { setDestGroup } from '../dest/modes.js'
import { ConfigError, EXIT_TABLE, exitCodeFor, type SdBackupError } from '../errors.js'
import { createLogger, type LogSink } from '../log/logger.js'
import type { JobName, JobRecord } from '../status/job-status.js'
import { groupId } from '../system/group-id.js'
import { finishJob } from './finish-job.js'
import { withSignals } from './with-signals.js'

// What a timer job runs in: its settings, where it writes, its logger and signal.
export interface JobRun {
  readonly s: OptionValues
  readonly dest: string
  readonly mount: string | undefined
  readonly station: string
  readonly log: Logger
  readonly signal: AbortSignal
}

// How a run ended, in the job's words. Thrown errors are failures; these are the rest.
export interface JobEnd {
  readonly message: string
  /** The files job's partial runs (exit 23, 24, 33): recorded as partial. */
  readonly partial?: keyof typeof EXIT_TABLE
  /** Reported like a failure (status, alert) though nothing was harmed: cleanup's clock doubt. */
  readonly failure?: SdBackupError
  /** The image job's read-back result, for status.json. */
  readonly verified?: JobRecord['verified']
  /** Nothing to record: a run that had nothing to do (files --once-a-day). */
  readonly unrecorded?: boolean
}

export interface JobOptions {
  /** false: neither status.json nor an alert, whatever happens (cleanup --dry-run). */
  readonly record?: boolean
  /** The read-back result a failure stands for (the image job's verification failures). */
  readonly verifiedOnFailure?: (err: unknown) => JobRecord['verified'] | undefined
}

// Where a job meets the world: the log sink (pino JSON) and the signals (the process, or a test's).
export interface JobHost {
  readonly sink: LogSink
  readonly signals?: EventEmitter
}

// One life cycle for the four timer jobs: dest and station from the settings, the
// dest group, alerts checked up front, a logger, SIGINT/SIGTERM as an AbortSignal,
// then the result into status.json and an alert (finishJob), and the exit code.
// Each job takes its own lock inside its run, so API callers get one too.
export async function runJob(
  host: JobHost,
  job: JobName,
  s: OptionValues,
  run: (r: JobRun) => Promise<JobEnd>,
  opts: JobOptions = {},
): Promise<number> {
  const dest = requireDest(s)
  const station = stationOf(s)
  useDestGroup(s)
  const alerts = resolveAlertSettings(s)
  const log = createLogger(host.sink, settingOr(s, 'log-level')).child({ job, station })
  const mount = setting(s, 'mount')
  const ctx = { dest, mount, station, job, started: new Date(), log, alerts, logTail: () => host.sink.tail() }
  return withSignals(host.signals, async (signal) => {
    let end: JobEnd
    try {
      end = await run({ s, dest, mount, station, log, signal })
    } catch (err) {
      log.error({ err }, (err as Error).message)
      const verified = opts.verifiedOnFailure?.(err)
      if (opts.record !== false)
        await finishJob({ ...ctx, outcome: { ok: false, error: err }, ...(verified ? { verified } : {}) })
      throw err
    }
    const exitCode = end.failure ? exitCodeFor(end.failure) : end.partial ? EXIT_TABLE[end.partial].exit : 0
    if (opts.record !== false && !end.unrecorded) {
      const outcome = end.failure
        ? { ok: false as const, error: end.failure }
        : { ok: true as const, message: end.message, ...(end.partial ? { partial: { exitCode } } : {}) }
      await finishJob({ ...ctx, outcome, ...(end.verified ? { verified: end.verified } : {}) })
    }
    return exitCode
  })
}

// dest-group from the settings, for everything this run creates on the NAS.
export function useDestGroup(s: OptionValues): void {
  const name = setting(s, 'dest-group')
  if (name === undefined) return setDestGroup(undefined)
  const gid = groupId(name)
  if (gid === undefined) throw new ConfigError('dest-group', `no group ${name} in /etc/group`)
  setDestGroup(gid)
}
