import t from 'tap'
import type { Test } from 'tap'
import { applyPolicy, DEFAULT_POLICY, isoWeek } from '../../lib/retention/apply-policy.js'
import { type Backup } from '../../lib/dest/backup.js'

const now = new Date('2026-11-29T12:00:00')
const at = (s: string) => new Date(s)

// Each row: the backup, then what the policy must decide and why.
type Row = [
  name: string,
  kind: Backup['kind'],
  time: string,
  complete: boolean,
  held: boolean,
  keep: boolean,
  reason: string,
]

function check(t: Tap, rows: Row[], policy = DEFAULT_POLICY) {
  const backups: Backup[] = rows.map(([name, kind, time, complete, held]) => ({
    name,
    kind,
    time: at(time),
    complete,
    held,
  }))
  const r = applyPolicy(backups, policy, now)
  for (const [name, , , , , keep, reason] of rows) {
    t.equal(r.reasons[name], reason, `${name}: ${reason}`)
    t.equal(
      r.keep.some((b) => b.name === name),
      keep,
      `${name} ${keep ? 'kept' : 'removed'}`,
    )
  }
  t.equal(r.keep.length + r.remove.length, rows.length, 'every backup decided once')
}
type Tap = Test

t.test('weekly images: the newest 7 weeks, one per week, newest complete always', async (t) => {
  const rows: Row[] = [
    ['z-2026-11-29.img.gz', 'image', '2026-11-29T03:00', true, false, true, 'newest complete image backup'],
    [
      'z-2026-11-27.img.gz',
      'image',
      '2026-11-27T10:00',
      true,
      false,
      false,
      'a newer image backup covers the same week',
    ],
  ]
  for (let w = 1; w <= 8; w++) {
    const d = new Date(at('2026-11-29T03:00').getTime() - w * 7 * 86400e3)
    const name = `z-${d.toISOString().slice(0, 10)}.img.gz`
    rows.push([
      name,
      'image',
      d.toISOString(),
      true,
      false,
      w <= 6,
      w <= 6 ? 'one of the newest 7 weekly images' : 'older than the newest 7 weekly images',
    ])
  }
  check(t, rows)
})

t.test('never the newest complete one, whatever the policy; incomplete and held ones', async (t) => {
  check(
    t,
    [
      [
        'z-2026-11-29.img.gz',
        'image',
        '2026-11-29T03:00',
        false,
        false,
        true,
        'incomplete (no manifest), less than a day old: may still be written',
      ],
      ['z-2026-11-22.img.gz', 'image', '2026-11-22T03:00', true, false, true, 'newest complete image backup'],
      ['z-2026-11-15.img.gz', 'image', '2026-11-15T03:00', true, true, true, 'held by a running job'],
      [
        'z-2026-11-08.img.gz',
        'image',
        '2026-11-08T03:00',
        false,
        false,
        false,
        'incomplete (no manifest), older than a day',
      ],
      ['z-2026-11-01.img.gz', 'image', '2026-11-01T03:00', true, false, false, 'older than the newest 0 weekly images'],
      [
        'z-2026-11-29.img.gz.123-abcdef.partial',
        'partial',
        '2026-11-29T03:00',
        false,
        false,
        true,
        'partial file of an unfinished run, less than a day old: may still be written',
      ],
      [
        'z-2026-11-22.img.gz.99-abcdef.partial',
        'partial',
        '2026-11-22T03:00',
        false,
        false,
        false,
        'partial file of an unfinished run, older than a day',
      ],
      [
        'z-2026-11-15.img.gz.98-abcdef.partial',
        'partial',
        '2026-11-15T03:00',
        false,
        true,
        true,
        'held by a running job',
      ],
    ],
    { ...DEFAULT_POLICY, keepWeekly: 0 },
  )
})

t.test('daily snapshots: 14 days, one per day', async (t) => {
  const rows: Row[] = []
  for (let d = 0; d < 18; d++) {
    const time = new Date(at('2026-11-29T02:00').getTime() - d * 86400e3)
    const keep = d < 14
    rows.push([
      `files-${d}`,
      'files',
      time.toISOString(),
      true,
      false,
      keep,
      d === 0
        ? 'newest complete files backup'
        : keep
          ? 'daily snapshot within 14 days'
          : 'daily snapshot older than 14 days',
    ])
  }
  rows.push([
    'files-rerun',
    'files',
    '2026-11-28T01:00',
    true,
    false,
    false,
    'a newer files backup covers the same day',
  ])
  check(t, rows)
})

t.test('database copies: every hour for 48 hours, then one a day for 30 days', async (t) => {
  const rows: Row[] = []
  // Hourly copies at :15 for 4 days back from 11:15 today.
  for (let h = 0; h < 96; h++) {
    const time = new Date(at('2026-11-29T11:15').getTime() - h * 3600e3)
    const age = now.getTime() - time.getTime()
    let reason: string
    let keep = true
    if (h === 0) reason = 'newest complete database backup'
    else if (age < 48 * 3600e3) reason = 'hourly copy within 48 hours'
    else {
      // Beyond 48 h, only the newest copy of each calendar day.
      const newer = new Date(time.getTime() + 3600e3)
      const newerAge = now.getTime() - newer.getTime()
      const firstOfDay = newer.getDate() !== time.getDate() || newerAge < 48 * 3600e3
      keep = firstOfDay
      reason = keep ? 'daily copy within 30 days after the hourly ones' : 'a newer database backup covers the same day'
    }
    rows.push([`db-${h}`, 'database', time.toISOString(), true, false, keep, reason])
  }
  rows.push(['db-old', 'database', '2026-10-20T00:15', true, false, false, 'older than 48 hours plus 30 days'])
  rows.push([
    'db-oct-29',
    'database',
    '2026-10-29T23:15',
    true,
    false,
    true,
    'daily copy within 30 days after the hourly ones',
  ])
  check(t, rows)
})

t.test('ISO weeks: Sunday ends the week, years roll over as ISO says', async (t) => {
  t.equal(isoWeek(at('2026-11-23T00:00')), '2026-W48')
  t.equal(isoWeek(at('2026-11-29T23:59')), '2026-W48')
  t.equal(isoWeek(at('2026-11-30T00:00')), '2026-W49')
  t.equal(isoWeek(at('2027-01-01T12:00')), '2026-W53')
  t.equal(isoWeek(at('2024-12-30T12:00')), '2025-W01')
})

t.test(
  'only a verified image can be the newest one kept whatever the policy; failed ones go after a day',
  async (t) => {
    const img = (name: string, time: string, verification: Backup['verification']): Backup => ({
      name,
      kind: 'image',
      time: at(time),
      complete: true,
      verification,
    })
    const table: Array<[Backup, boolean, string]> = [
      [
        img('z-2026-11-29.img.gz', '2026-11-29T03:00', 'failed'),
        true,
        'failed verification, less than a day old: may still be written',
      ],
      [img('z-2026-11-22.img.gz', '2026-11-22T03:00', 'failed'), false, 'failed verification, older than a day'],
      [img('z-2026-11-15.img.gz', '2026-11-15T03:00', 'skipped'), true, 'one of the newest 1 weekly images'],
      [img('z-2026-11-08.img.gz', '2026-11-08T03:00', 'ok'), true, 'newest verified image backup'],
      [img('z-2026-11-01.img.gz', '2026-11-01T03:00', 'ok'), false, 'older than the newest 1 weekly images'],
    ]
    const r = applyPolicy(
      table.map(([b]) => b),
      { ...DEFAULT_POLICY, keepWeekly: 1 },
      now,
    )
    for (const [b, keep, reason] of table) {
      t.equal(r.reasons[b.name], reason, b.name)
      t.equal(r.keep.includes(b), keep, `${b.name} ${keep ? 'kept' : 'removed'}`)
    }
  },
)

t.test('each database keeps its own hourly and daily copies', async (t) => {
  const backups: Backup[] = []
  for (const series of ['/home/pi/BirdNET-Pi/scripts/birds.db', '/home/bob/BirdNET-Pi/scripts/birds.db']) {
    for (let h = 0; h < 3; h++)
      backups.push({
        name: `${series}@${h}`,
        kind: 'database',
        series,
        time: new Date(now.getTime() - h * 3600e3),
        complete: true,
      })
  }
  const r = applyPolicy(backups, DEFAULT_POLICY, now)
  t.same(r.remove, [], 'two copies in the same hour of different databases are not the same slot')
  t.equal(
    r.reasons['/home/bob/BirdNET-Pi/scripts/birds.db@0'],
    'newest complete database backup',
    'each has its own newest',
  )
  t.equal(r.reasons['/home/pi/BirdNET-Pi/scripts/birds.db@0'], 'newest complete database backup')
})

// The same history seen by a clock that is 60 days ahead, behind, or right.
function history(): Backup[] {
  const out: Backup[] = []
  for (let d = 0; d < 14; d++)
    out.push({
      name: `files-${d}`,
      kind: 'files',
      time: new Date(now.getTime() - d * 86400e3 - 10 * 3600e3),
      complete: true,
    })
  for (let h = 0; h < 12; h++)
    out.push({ name: `db-${h}`, kind: 'database', time: new Date(now.getTime() - h * 3600e3 - 1800e3), complete: true })
  return out
}

t.test('a clock 60 days ahead removes nothing and says why', async (t) => {
  const r = applyPolicy(history(), DEFAULT_POLICY, new Date(now.getTime() + 60 * 86400e3))
  t.same(r.remove, [])
  t.match(r.clockDoubt, /is 60 days past the newest hourly database copy db-0/)
})

t.test('a clock earlier than the newest backup removes nothing', async (t) => {
  const r = applyPolicy(history(), DEFAULT_POLICY, new Date(now.getTime() - 5 * 86400e3))
  t.same(r.remove, [])
  t.match(r.clockDoubt, /is earlier than the newest backup db-0/)
})

t.test('whatever the clock, the newest N of a kind are not removed for their age alone', async (t) => {
  // Without database copies to betray it, a clock 60 days ahead looks plausible: the newest 14 snapshots stay anyway.
  const snapshots = history().filter((b) => b.kind === 'files')
  const r = applyPolicy(snapshots, DEFAULT_POLICY, new Date(now.getTime() + 60 * 86400e3))
  t.equal(r.clockDoubt, undefined)
  t.same(r.remove, [])
  t.equal(r.reasons['files-13'], 'one of the newest 14 files backups: not removed for its age alone')
  const more = [
    ...snapshots,
    { name: 'files-old', kind: 'files', time: new Date(now.getTime() - 40 * 86400e3), complete: true } as Backup,
  ]
  t.same(
    applyPolicy(more, DEFAULT_POLICY, now).remove.map((b) => b.name),
    ['files-old'],
    'the 15th, older than 14 days, goes',
  )
  t.equal(applyPolicy(history(), DEFAULT_POLICY, now).clockDoubt, undefined, 'a right clock is trusted')
})
