import t from 'tap'
import { readFileSync } from 'node:fs'
import { has, sh } from '../helpers/image.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'systemd-analyze')

const unit = (n: string) => readFileSync(`systemd/${n}`, 'utf8')
const JOBS: Array<[string, string, string[]]> = [
  ['database', 'database', ['*-*-* *:15:00']],
  ['daily', 'files --once-a-day', ['*-*-* 02:00:00', 'Sun *-03-25..31 03:00:00']],
  ['weekly', 'image', ['Sun *-*-* 03:00:00']],
  ['cleanup', 'cleanup', ['*-*-* 02:30:00', 'Sun *-03-25..31 03:30:00']],
]

test('every timer: its schedule, persistent, low priority, after the NAS mount, the card readable', async (t) => {
  for (const [name, cmd, cal] of JOBS) {
    const service = unit(`sd-backup-${name}.service`)
    const timer = unit(`sd-backup-${name}.timer`)
    t.match(service, new RegExp(`^ExecStart=/usr/bin/env sd-backup ${cmd}$`, 'm'), name)
    t.match(service, /^RequiresMountsFor=\/mnt\/nas$/m)
    t.match(service, /^Nice=19$/m)
    t.match(service, /^IOSchedulingClass=idle$/m)
    t.notMatch(service, /^PrivateDevices=/m, 'no PrivateDevices: the image job reads the card')
    t.match(service, /^DeviceAllow=block-mmc r$/m)
    t.same(
      [...timer.matchAll(/^OnCalendar=(.*)$/gm)].map((m) => m[1]),
      cal,
    )
    t.match(timer, /^Persistent=true$/m)
  }
})

test('systemd accepts the units, and the daily jobs also run when the clocks change', async (t) => {
  if (!has('systemd-analyze')) return void t.skip('systemd-analyze not installed', () => {})
  sh(
    `systemd-analyze verify ${JOBS.flatMap(([n]) => [`systemd/sd-backup-${n}.service`, `systemd/sd-backup-${n}.timer`]).join(' ')}`,
  )
  const next = (cal: string[], base: string) =>
    sh(
      `TZ=Europe/Amsterdam systemd-analyze calendar --iterations=3 --base-time='${base}' ${cal.map((c) => `'${c}'`).join(' ')}`,
    )
  // Spring forward, 2027-03-28: 02:00 and 02:30 do not exist; the fallback runs at 03:00 / 03:30.
  t.match(next(JOBS[1]![2], '2027-03-27 12:00'), /Next elapse: Sun 2027-03-28 03:00:00 CEST/)
  t.match(next(JOBS[3]![2], '2027-03-27 12:00'), /Next elapse: Sun 2027-03-28 03:30:00 CEST/)
  // Fall back, 2026-10-25: 02:00 and 02:30 happen (once each).
  t.match(
    next(JOBS[1]![2], '2026-10-24 12:00'),
    /Next elapse: Sun 2026-10-25 02:00:00 CEST[\s\S]*?Iter\. #2: Mon 2026-10-26 02:00:00 CET/,
  )
  t.match(
    next(JOBS[3]![2], '2026-10-24 12:00'),
    /Next elapse: Sun 2026-10-25 02:30:00 CEST[\s\S]*?Iter\. #2: Mon 2026-10-26 02:30:00 CET/,
  )
  t.match(next(JOBS[2]![2], '2026-11-27 12:00'), /Next elapse: Sun 2026-11-29 03:00:00 CET/)
})
