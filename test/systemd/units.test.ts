import t from 'tap'
import { readFileSync } from 'node:fs'
import { has, sh } from '../helpers/image.js'

const service = readFileSync('systemd/sd-backup-weekly.service', 'utf8')
const timer = readFileSync('systemd/sd-backup-weekly.timer', 'utf8')

t.test('the weekly units: low priority, after the NAS mount, Sunday 03:00, caught up after downtime', async (t) => {
  t.match(service, /^ExecStart=\/usr\/bin\/env sd-backup image$/m)
  t.match(service, /^RequiresMountsFor=\/mnt\/nas$/m)
  t.match(service, /^Nice=19$/m)
  t.match(service, /^IOSchedulingClass=idle$/m)
  t.match(timer, /^Persistent=true$/m)
  if (!has('systemd-analyze')) {
    t.skip('systemd-analyze not installed')
    return
  }
  sh('systemd-analyze verify systemd/sd-backup-weekly.service systemd/sd-backup-weekly.timer')
  const cal = sh(`systemd-analyze calendar --iterations=2 --base-time='2026-11-27 12:00 UTC' '${/^OnCalendar=(.*)$/m.exec(timer)![1]}'`)
  t.match(cal, /Next elapse: Sun 2026-11-29 03:00:00/)
  t.match(cal, /Iter\. #2: Sun 2026-12-06 03:00:00/)
})

t.test('the example config parses and sets nothing the defaults would not', async (t) => {
  const { parseConfigText } = await import('../../lib/config/config-file.js')
  const { IMAGE_OPTIONS } = await import('../../lib/config/options.js')
  t.same(parseConfigText(readFileSync('systemd/sd-backup.conf', 'utf8'), 'sd-backup.conf', IMAGE_OPTIONS), {
    global: { mount: '/mnt/nas', dest: '/mnt/nas/backups' },
    sections: { image: { compress: 'gzip', level: 6, 'progress-interval': 30 } },
  })
})
