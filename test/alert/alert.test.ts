import t from 'tap'
import type { Test } from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { composeJobAlert, staleKinds } from '../../lib/alert/compose-alert.js'
import { resolveAlertSettings } from '../../lib/alert/alert-settings.js'
import { ConfigError } from '../../lib/errors.js'
import { runCli } from '../helpers/cli.js'
import { mixedContent } from '../helpers/image.js'
import { closedPort, smtpServer } from '../helpers/smtp.js'
import { tmp } from '../helpers/tmp.js'

function station(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(300_000, 9))
  return { dir, src, nas: path.join(dir, 'nas') }
}
const mailFlags = (port: number) => [
  '--smtp-host',
  '127.0.0.1',
  '--smtp-port',
  String(port),
  '--mail-from',
  'pi@zolder',
  '--mail-to',
  'owner@example.org, second@example.org',
  '--mail-retry-delay',
  '0',
]

t.test('the weekly image mails its summary on success, and its error with the last log lines on failure', async (t) => {
  const smtp = await smtpServer(t)
  const { src, nas } = station(t)
  const ok = await runCli(['image', '--device', src, '--dest', nas, '--station', 'zolder', ...mailFlags(smtp.port)])
  t.equal(ok.code, 0)
  t.equal(smtp.mails.length, 1)
  t.match(smtp.mails[0], {
    from: 'pi@zolder',
    to: ['owner@example.org', 'second@example.org'],
    subject: '[sd-backup] zolder image: OK',
  })
  t.match(smtp.mails[0]!.body, /result:  OK \(exit 0\)/)
  t.match(smtp.mails[0]!.body, /image done: 293\.0 KiB in, .* saved\), \d+ s, [\d.]+ MiB\/s/)
  t.notMatch(smtp.mails[0]!.body, /last log lines/)
  const again = await runCli(['image', '--device', src, '--dest', nas, '--station', 'zolder', ...mailFlags(smtp.port)])
  t.equal(again.code, 9)
  t.match(smtp.mails[1], { subject: '[sd-backup] zolder image: FAILED' })
  t.match(smtp.mails[1]!.body, /result:  FAILED \(exit 9, SDB_BACKUP_EXISTS\)/)
  t.match(smtp.mails[1]!.body, /already exists and is never overwritten/)
  t.match(smtp.mails[1]!.body, /last log lines:\n {2}\{"level":30/)
})

t.test('with the SMTP server down the job result is unchanged; the failure is logged after the retries', async (t) => {
  const port = await closedPort()
  const { src, nas } = station(t)
  const r = await runCli([
    'image',
    '--device',
    src,
    '--dest',
    nas,
    '--station',
    'zolder',
    ...mailFlags(port),
    '--mail-retries',
    '3',
  ])
  t.equal(r.code, 0, 'still a successful backup')
  const warns = r.logs.filter((l) => l.level === 40 && /^alert not sent/.test(String(l.msg)))
  t.same(
    warns.map((w) => w.attempt),
    [1, 2, 3],
  )
  t.match(warns[2], {
    msg: /^alert not sent \(attempt 3 of 3\): .*ECONNREFUSED/,
    alert: '[sd-backup] zolder image: OK',
  })
  const failed = await runCli([
    'image',
    '--device',
    src,
    '--dest',
    nas,
    '--station',
    'zolder',
    ...mailFlags(port),
    '--mail-retries',
    '1',
  ])
  t.equal(failed.code, 9, 'a failed job keeps its own exit code too')
})

t.test('an alert turned away once is retried and delivered', async (t) => {
  const smtp = await smtpServer(t, 1)
  const { dir, nas } = station(t)
  mkdirSync(path.join(nas, 'zolder'), { recursive: true })
  const r = await runCli([
    'cleanup',
    '--dest',
    nas,
    '--station',
    'zolder',
    ...mailFlags(smtp.port),
    '--mail-on-success',
    'cleanup',
  ])
  t.equal(r.code, 0)
  t.equal(smtp.connections(), 2)
  t.match(smtp.mails, [{ subject: '[sd-backup] zolder cleanup: OK' }])
  t.match(
    r.logs.find((l) => String(l.msg).startsWith('alert sent')),
    { attempt: 2 },
  )
  t.ok(dir)
})

t.test('any run mails when a kind has not succeeded for too long', async (t) => {
  const smtp = await smtpServer(t)
  const { nas } = station(t)
  mkdirSync(path.join(nas, 'zolder'), { recursive: true })
  const tenHoursAgo = new Date(Date.now() - 10 * 3600e3).toISOString()
  writeFileSync(
    path.join(nas, 'zolder', 'status.json'),
    JSON.stringify({
      station: 'zolder',
      updated: tenHoursAgo,
      jobs: {
        database: {
          result: 'failed',
          finished: tenHoursAgo,
          durationSeconds: 1,
          exitCode: 1,
          message: 'x',
          lastOk: tenHoursAgo,
        },
      },
    }),
  )
  const r = await runCli([
    'cleanup',
    '--dest',
    nas,
    '--station',
    'zolder',
    ...mailFlags(smtp.port),
    '--mail-on-success',
    'none',
  ])
  t.equal(r.code, 0)
  t.match(smtp.mails, [{ subject: '[sd-backup] zolder cleanup: OK (+ database overdue)' }])
  t.match(
    smtp.mails[0]!.body,
    new RegExp(`OVERDUE: no successful database backup since ${tenHoursAgo.replace(/[.]/g, '\\.')} \\(allowed: 3 h\\)`),
  )
})

t.test('alert --test sends one mail; with the server down it exits 15', async (t) => {
  const smtp = await smtpServer(t)
  const r = await runCli(['alert', '--test', '--station', 'zolder', ...mailFlags(smtp.port)])
  t.equal(r.code, 0)
  t.equal(r.stderr, 'test alert sent to owner@example.org, second@example.org\n')
  t.match(smtp.mails, [{ subject: '[sd-backup] zolder alert: TEST' }])
  const down = await runCli(['alert', '--test', ...mailFlags(await closedPort()), '--mail-retries', '1'])
  t.equal(down.code, 15)
  t.match(down.stderr, /^sd-backup alert: the test alert could not be sent through 127\.0\.0\.1:\d+/)
  t.equal((await runCli(['alert'])).code, 2)
  t.equal(
    (await runCli(['alert', '--test'])).stderr,
    'sd-backup alert: smtp-host: no alerts are configured: set smtp-host and mail-to\n',
  )
  t.equal((await runCli(['alert', '--help'])).code, 0)
})

t.test('settings and the pure parts: host and recipients together, stale kinds, the mail text', async (t) => {
  t.equal(resolveAlertSettings({}), undefined)
  t.throws(
    () => resolveAlertSettings({ 'mail-to': 'a@b' }),
    new ConfigError('smtp-host', 'is required when mail-to is set: the SMTP server that sends the alerts'),
  )
  t.throws(
    () => resolveAlertSettings({ 'smtp-host': 'h' }),
    new ConfigError('mail-to', 'is required when smtp-host is set: who receives the alerts'),
  )
  t.match(resolveAlertSettings({ 'smtp-host': 'h', 'mail-to': 'a@b', 'smtp-tls': true, 'smtp-user': 'u' }, 'zolder'), {
    port: 465,
    from: 'sd-backup@zolder',
    onSuccess: new Set(['image']),
    retries: 4,
    retryDelayMs: 5000,
    user: 'u',
  })
  const now = new Date('2026-11-29T12:00:00Z')
  const rec = (lastOk?: string) => ({
    result: 'failed' as const,
    finished: '2026-11-29T11:00:00Z',
    durationSeconds: 1,
    exitCode: 1,
    message: 'm',
    ...(lastOk ? { lastOk } : {}),
  })
  t.same(
    staleKinds(
      {
        station: 'z',
        updated: '',
        jobs: { database: rec('2026-11-29T10:00:00Z'), files: rec(), image: rec('2026-11-20T03:00:00Z') },
      },
      { database: 3, files: 30, image: 192 },
      now,
    ),
    [
      { job: 'files', lastOk: undefined, maxAgeHours: 30 },
      { job: 'image', lastOk: '2026-11-20T03:00:00Z', maxAgeHours: 192 },
    ],
  )
  const mail = composeJobAlert('z', 'image', { ...rec(), result: 'partial' }, [], ['{"a":1}'])
  t.equal(mail.subject, '[sd-backup] z image: PARTIAL')
  t.equal(
    mail.text,
    'station: z\njob:     image\nresult:  PARTIAL (exit 1)\nwhen:    2026-11-29T11:00:00Z, after 1 s\n\nm\n\nlast log lines:\n  {"a":1}\n',
  )
})
