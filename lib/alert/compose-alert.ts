import type { JobName, JobRecord, StationStatus } from '../status/job-status.js'

// A kind whose last success is older than allowed: a timer that silently stopped.
export interface StaleKind {
  readonly job: JobName
  readonly lastOk: string | undefined
  readonly maxAgeHours: number
}

// Kinds that have run on this station but not succeeded within their maximum age.
// A kind that never ran at all is not configured here and is not reported.
export function staleKinds(
  status: StationStatus,
  maxAgeHours: Readonly<Partial<Record<JobName, number>>>,
  now: Date,
): StaleKind[] {
  const out: StaleKind[] = []
  for (const [job, hours] of Object.entries(maxAgeHours) as Array<[JobName, number]>) {
    const r = status.jobs[job]
    if (!r) continue
    const last = r.lastOk ? Date.parse(r.lastOk) : undefined
    if (last === undefined || now.getTime() - last > hours * 3600e3)
      out.push({ job, lastOk: r.lastOk, maxAgeHours: hours })
  }
  return out
}

export interface Mail {
  readonly subject: string
  readonly text: string
}

// The alert for one run: the subject names station, job and result; the body holds
// the summary or the error, the stale kinds, and on failure the last log lines.
export function composeJobAlert(
  station: string,
  job: JobName,
  record: JobRecord,
  stale: readonly StaleKind[],
  logTail: readonly string[],
): Mail {
  const result = record.result === 'ok' ? 'OK' : record.result.toUpperCase()
  const staleNote = stale.length ? ` (+ ${stale.map((s) => s.job).join(', ')} overdue)` : ''
  const lines = [
    `station: ${station}`,
    `job:     ${job}`,
    `result:  ${result} (exit ${record.exitCode}${record.code ? `, ${record.code}` : ''})`,
    `when:    ${record.finished}, after ${record.durationSeconds.toFixed(0)} s`,
    '',
    record.message,
  ]
  for (const s of stale) {
    lines.push(
      '',
      `OVERDUE: no successful ${s.job} backup ${s.lastOk ? `since ${s.lastOk}` : 'yet'} (allowed: ` +
        `${s.maxAgeHours} h). Is its timer still running? (systemctl list-timers 'sd-backup-*')`,
    )
  }
  if (record.result !== 'ok' && logTail.length) lines.push('', 'last log lines:', ...logTail.map((l) => `  ${l}`))
  return { subject: `[sd-backup] ${station} ${job}: ${result}${staleNote}`, text: `${lines.join('\n')}\n` }
}
