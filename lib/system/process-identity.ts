import { readFileSync } from 'node:fs'

// What tells one process from a later one with the same pid: its start time (in
// clock ticks since boot, /proc/PID/stat field 22) and the boot it started in.
export interface ProcessIdentity {
  readonly startTicks: number
  readonly boot: string
}

export function processIdentity(pid: number, proc = '/proc'): ProcessIdentity | undefined {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, 'utf8')
    // Fields after "(comm) ": state is field 3, so field 22 is at index 19.
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    const boot = readFileSync(`${proc}/sys/kernel/random/boot_id`, 'utf8').trim()
    return Number.isFinite(startTicks) ? { startTicks, boot } : undefined
  } catch {
    return undefined
  }
}

// Whether the process's command line names sd-backup: for locks that record no identity.
export function runsSdBackup(pid: number, proc = '/proc'): boolean {
  try {
    return readFileSync(`${proc}/${pid}/cmdline`, 'utf8').includes('sd-backup')
  } catch {
    return false
  }
}
