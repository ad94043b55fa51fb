import { execFile } from 'node:child_process'
import { pathExists } from 'fs-extra/esm'
import { readdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { JOBS, readStationStatus, type JobName, type StationStatus } from './job-status.js'
import { stationTree } from '../dest/layout.js'

// Every station with backups or a status.json under DEST, sorted by name.
export async function findStations(dest: string): Promise<StationStatus[]> {
  const out: StationStatus[] = []
  for (const e of (await readdir(dest, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue
    const tree = stationTree(dest, e.name)
    if ((await pathExists(tree.status)) || (await pathExists(tree.dir('images')))) {
      // One station's status that cannot even be read must not hide the others.
      out.push(
        await readStationStatus(dest, e.name).catch((err: unknown) => ({
          station: e.name,
          updated: '',
          jobs: {},
          unreadable: String((err as Error).message),
        })),
      )
    }
  }
  return out
}

// When systemd will next start each of this host's timers; empty where systemctl is missing.
export async function nextRunsFromSystemd(run = promisify(execFile)): Promise<Partial<Record<JobName, Date>>> {
  const next: Partial<Record<JobName, Date>> = {}
  for (const { job, timer } of JOBS) {
    try {
      const { stdout } = await run('systemctl', ['show', '-P', 'NextElapseUSecRealtime', `${timer}.timer`])
      const t = Date.parse(stdout.trim())
      if (!Number.isNaN(t)) next[job] = new Date(t)
    } catch {
      // No systemd here, or the timer is not installed: no "next" for it.
    }
  }
  return next
}
