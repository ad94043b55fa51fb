import { JOBS, type JobName, type StationStatus } from './job-status.js'

// "3h ago" / "2d ago": the age people read at a glance.
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86400)}d`
}

export type NextRuns = Partial<Record<string, Partial<Record<JobName, Date>>>>

// One cell: last result and its age, plus the next run where systemd told us.
function cell(s: StationStatus, job: JobName, now: Date, next: Date | undefined): string {
  if (s.unreadable) return 'unreadable status.json'
  const r = s.jobs[job]
  const result = r?.result === 'ok' ? (r.verified === 'skipped' ? 'OK (unverified)' : 'OK') : r?.result.toUpperCase()
  const last = r ? `${result} ${ago(now.getTime() - Date.parse(r.finished))} ago` : 'never'
  return next ? `${last}, next in ${ago(next.getTime() - now.getTime())}` : last
}

// The station handbook's table: a row per timer, a column per station.
export function statusTable(stations: readonly StationStatus[], now: Date, nextRuns: NextRuns = {}): string {
  const header = ['timer', ...stations.map((s) => s.station)]
  const rows = JOBS.map(({ job, timer }) => [
    timer,
    ...stations.map((s) => cell(s, job, now, nextRuns[s.station]?.[job])),
  ])
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)))
  return (
    [header, ...rows]
      .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
      .join('\n') + '\n'
  )
}
