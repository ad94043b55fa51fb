// Retention as a pure function: backups + policy + now → what to keep and what to
// remove, with the reason for each. No I/O here, so the rules are tested with tables.
import type { Backup, BackupKind } from '../dest/backup.js'

export interface Policy {
  /** Newest complete images to keep, one per ISO week. */
  readonly keepWeekly: number
  /** Days of daily file snapshots to keep, one per day. */
  readonly keepDaily: number
  /** Hours of database copies to keep, one per hour. */
  readonly keepHourly: number
  /** Days beyond those hours for which one database copy per day is kept. */
  readonly keepDailyDatabase: number
}

// The handbook's defaults: 7 weekly images (~280 GB per Pi), 14 days of snapshots,
// 48 hours of hourly database copies plus one a day for 30 days.
export const DEFAULT_POLICY: Policy = { keepWeekly: 7, keepDaily: 14, keepHourly: 48, keepDailyDatabase: 30 }

// Leftovers of crashed runs are removed once older than this; younger ones may still be written.
export const STALE_AFTER_MS = 24 * 3600 * 1000

export interface PolicyResult {
  readonly keep: Backup[]
  readonly remove: Backup[]
  readonly reasons: Record<string, string>
  /** Set when the clock cannot be trusted: then nothing is removed. */
  readonly clockDoubt?: string
}

// A clock this far behind the newest backup, or this far ahead of the newest copy of
// the hourly job, is not trusted to age anything (a Pi has no RTC).
export const CLOCK_BEHIND_MS = 3600 * 1000
export const HOURLY_SILENT_MS = 7 * 24 * 3600 * 1000

const HOUR = 3600 * 1000
const DAY = 24 * HOUR

// ISO 8601 week (2026-W48): the unit of "weekly".
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()))
  const dow = t.getUTCDay() || 7
  t.setUTCDate(t.getUTCDate() + 4 - dow)
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1)
  return `${t.getUTCFullYear()}-W${String(Math.ceil(((t.getTime() - yearStart) / DAY + 1) / 7)).padStart(2, '0')}`
}

// Why the clock is not trusted to age backups, or undefined: it is earlier than the
// newest backup, or far later than the newest copy of a job that runs every hour.
export function clockDoubt(backups: readonly Backup[], now: Date): string | undefined {
  const complete = backups.filter((b) => b.complete && b.kind !== 'partial')
  const newest = (bs: readonly Backup[]) =>
    bs.reduce<Backup | undefined>((n, b) => (!n || b.time > n.time ? b : n), undefined)
  const all = newest(complete)
  if (all && all.time.getTime() - now.getTime() > CLOCK_BEHIND_MS) {
    return `the clock (${now.toISOString()}) is earlier than the newest backup ${all.name} (${all.time.toISOString()})`
  }
  const hourly = newest(complete.filter((b) => b.kind === 'database'))
  if (hourly && now.getTime() - hourly.time.getTime() > HOURLY_SILENT_MS) {
    const days = Math.floor((now.getTime() - hourly.time.getTime()) / (24 * HOUR))
    return (
      `the clock (${now.toISOString()}) is ${days} days past the newest hourly database copy ` +
      `${hourly.name}: either the clock jumped or the database job stopped`
    )
  }
  return undefined
}

// How many of the newest complete backups of a kind (per series) no age removes.
function newestKept(kind: BackupKind, p: Policy): number {
  return kind === 'image' ? p.keepWeekly : kind === 'files' ? p.keepDaily : p.keepHourly
}

// Each rule keeps the newest backup of each unit (week, day, hour) it covers, per
// kind and series. Whatever the clock says, the newest N of each are not removed
// for their age; a clock in doubt removes nothing at all.
export function applyPolicy(backups: readonly Backup[], policy: Policy, now: Date): PolicyResult {
  const reasons: Record<string, string> = {}
  const keep: Backup[] = []
  const remove: Backup[] = []
  const decide = (b: Backup, keepIt: boolean, reason: string) => {
    ;(keepIt ? keep : remove).push(b)
    reasons[b.name] = reason
  }
  const newestFirst = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.name < b.name ? 1 : -1))
  const doubt = clockDoubt(backups, now)
  if (doubt) {
    for (const b of newestFirst) decide(b, true, `clock in doubt, nothing removed: ${doubt}`)
    return { keep, remove, reasons, clockDoubt: doubt }
  }
  const group = (b: Backup) => (b.series === undefined ? b.kind : `${b.kind}:${b.series}`)
  const newestComplete = new Map<string, Backup>()
  // Only a verified backup can be the one that is never removed: an image nobody
  // read back might be the one that does not restore.
  const verified = (b: Backup) => b.verification === undefined || b.verification === 'ok'
  for (const b of newestFirst)
    if (b.complete && b.kind !== 'partial' && verified(b) && !newestComplete.has(group(b)))
      newestComplete.set(group(b), b)
  const keptUnits = new Set<string>()
  const rank = new Map<string, number>()
  let keptImages = 0

  for (const b of newestFirst) {
    const age = now.getTime() - b.time.getTime()
    if (b.held) decide(b, true, 'held by a running job')
    else if (b.kind === 'partial' || !b.complete || b.verification === 'failed') {
      const what =
        b.kind === 'partial'
          ? 'partial file of an unfinished run'
          : b.complete
            ? 'failed verification'
            : 'incomplete (no manifest)'
      if (age > STALE_AFTER_MS) decide(b, false, `${what}, older than a day`)
      else decide(b, true, `${what}, less than a day old: may still be written`)
    } else {
      const rule = ruleFor(b.kind, b.time, age, policy, keptImages)
      const unit = `${group(b)}:${rule.unit}:${rule.key}`
      const n = rank.get(group(b)) ?? 0
      rank.set(group(b), n + 1)
      const protectedN = newestKept(b.kind, policy)
      const [keepIt, reason]: [boolean, string] =
        newestComplete.get(group(b)) === b
          ? [true, b.verification === 'ok' ? `newest verified ${b.kind} backup` : `newest complete ${b.kind} backup`]
          : keptUnits.has(unit)
            ? [false, `a newer ${b.kind} backup covers the same ${rule.unit}`]
            : !rule.keep && n < protectedN && b.kind !== 'image'
              ? [true, `one of the newest ${protectedN} ${b.kind} backups: not removed for its age alone`]
              : [rule.keep, rule.reason]
      decide(b, keepIt, reason)
      if (keepIt) {
        keptUnits.add(unit)
        if (b.kind === 'image') keptImages++
      }
    }
  }
  return { keep, remove, reasons }
}

// The rule for a complete backup: the unit it keeps one of, whether this one is
// within it, and why.
function ruleFor(kind: BackupKind, t: Date, age: number, p: Policy, keptImages: number) {
  const day = `${t.getFullYear()}-${t.getMonth() + 1}-${t.getDate()}`
  if (kind === 'image') {
    const keep = keptImages < p.keepWeekly
    return {
      unit: 'week',
      key: isoWeek(t),
      keep,
      reason: keep
        ? `one of the newest ${p.keepWeekly} weekly images`
        : `older than the newest ${p.keepWeekly} weekly images`,
    }
  }
  if (kind === 'files') {
    const keep = age < p.keepDaily * DAY
    return {
      unit: 'day',
      key: day,
      keep,
      reason: keep ? `daily snapshot within ${p.keepDaily} days` : `daily snapshot older than ${p.keepDaily} days`,
    }
  }
  if (age < p.keepHourly * HOUR)
    return {
      unit: 'hour',
      key: `${day}T${t.getHours()}`,
      keep: true,
      reason: `hourly copy within ${p.keepHourly} hours`,
    }
  const keep = age < p.keepHourly * HOUR + p.keepDailyDatabase * DAY
  return {
    unit: 'day',
    key: day,
    keep,
    reason: keep
      ? `daily copy within ${p.keepDailyDatabase} days after the hourly ones`
      : `older than ${p.keepHourly} hours plus ${p.keepDailyDatabase} days`,
  }
}
