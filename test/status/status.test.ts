import t from 'tap'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { cmdStatus } from '../../lib/cli/cmd-status.js'
import { findStations, nextRunsFromSystemd } from '../../lib/status/find-stations.js'
import { readStationStatus, recordJobResult, type StationStatus } from '../../lib/status/job-status.js'
import { ago, statusTable } from '../../lib/status/status-table.js'
import { runCli } from '../helpers/cli.js'
import { mixedContent } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { EventEmitter } from 'node:events'
import { LogSink } from '../../lib/log/logger.js'

const now = new Date('2026-11-29T12:00:00Z')
const rec = (result: 'ok' | 'failed' | 'partial', finished: string) => ({
  result,
  finished,
  durationSeconds: 1,
  exitCode: result === 'ok' ? 0 : 10,
  message: 'm',
})

const GOLDEN = `timer               berging          zolder
sd-backup-database  never            OK 45m ago, next in 15m
sd-backup-daily     PARTIAL 10h ago  OK 10h ago, next in 14h
sd-backup-weekly    FAILED 2d ago    OK 2d ago, next in 6d
sd-backup-cleanup   never            never
`

t.test('the table: a row per timer, a column per station, result + age + next run (golden)', async (t) => {
  const stations: StationStatus[] = [
    {
      station: 'berging',
      updated: '',
      jobs: { files: rec('partial', '2026-11-29T02:00:00Z'), image: rec('failed', '2026-11-27T03:00:00Z') },
    },
    {
      station: 'zolder',
      updated: '',
      jobs: {
        database: rec('ok', '2026-11-29T11:15:00Z'),
        files: rec('ok', '2026-11-29T02:00:00Z'),
        image: rec('ok', '2026-11-27T03:00:00Z'),
      },
    },
  ]
  const next = {
    zolder: {
      database: new Date('2026-11-29T12:15:00Z'),
      files: new Date('2026-11-30T02:00:00Z'),
      image: new Date('2026-12-06T03:00:00Z'),
    },
  }
  t.equal(statusTable(stations, now, next), GOLDEN)
  t.equal(ago(59_000), '59s')
  t.equal(ago(3_599_000), '59m')
  t.equal(ago(47 * 3600e3), '47h')
  t.equal(ago(49 * 3600e3), '2d')
  t.equal(ago(-5), '0s')
})

t.test('status.json: concurrent jobs both land; the last success survives a failure', async (t) => {
  const dest = tmp(t)
  mkdirSync(path.join(dest, 'zolder'))
  await Promise.all([
    recordJobResult(dest, 'zolder', 'image', rec('ok', '2026-11-29T04:00:00Z')),
    recordJobResult(dest, 'zolder', 'database', rec('ok', '2026-11-29T03:15:00Z')),
  ])
  const after = await recordJobResult(dest, 'zolder', 'image', rec('failed', '2026-12-06T04:00:00Z'))
  t.match(after.jobs, {
    image: { result: 'failed', lastOk: '2026-11-29T04:00:00Z' },
    database: { result: 'ok', lastOk: '2026-11-29T03:15:00Z' },
  })
  t.same(await readStationStatus(dest, 'zolder'), after)
  t.same(await readStationStatus(dest, 'nobody'), { station: 'nobody', updated: '', jobs: {} })
  mkdirSync(path.join(dest, 'berging', 'images'), { recursive: true })
  mkdirSync(path.join(dest, '.hidden'))
  mkdirSync(path.join(dest, 'unrelated'))
  t.same(
    (await findStations(dest)).map((s) => s.station),
    ['berging', 'zolder'],
  )
})

t.test('jobs write their result; failures that could land on the card do not', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(200_000, 3))
  const nas = path.join(dir, 'nas')
  const ok = await runCli(['image', '--device', src, '--dest', nas, '--station', 'zolder'])
  t.equal(ok.code, 0)
  const status = JSON.parse(readFileSync(path.join(nas, 'zolder', 'status.json'), 'utf8')) as StationStatus
  t.match(status.jobs.image, { result: 'ok', exitCode: 0, message: /^image done: 195\.3 KiB in/ })
  const again = await runCli(['image', '--device', src, '--dest', nas, '--station', 'zolder'])
  t.equal(again.code, 9)
  t.match(JSON.parse(readFileSync(path.join(nas, 'zolder', 'status.json'), 'utf8')), {
    jobs: { image: { result: 'failed', exitCode: 9, code: 'SDB_BACKUP_EXISTS', lastOk: status.jobs.image!.finished } },
  })
  const mnt = path.join(dir, 'mnt')
  mkdirSync(mnt)
  const un = await runCli([
    'image',
    '--device',
    src,
    '--mount',
    mnt,
    '--dest',
    path.join(mnt, 'b'),
    '--station',
    'zolder',
  ])
  t.equal(un.code, 4)
  t.notOk(existsSync(path.join(mnt, 'b')), 'nothing written into the unmounted mount point')
  const cl = await runCli(['cleanup', '--dest', nas, '--station', 'zolder'])
  t.equal(cl.code, 0)
  t.match(JSON.parse(readFileSync(path.join(nas, 'zolder', 'status.json'), 'utf8')), {
    jobs: { cleanup: { result: 'ok', message: /^removed 0, freed 0 B/ }, image: { result: 'failed' } },
  })
  const table = await runCli(['status', '--dest', nas])
  t.equal(table.code, 0)
  t.match(
    table.stdout,
    /^timer +zolder\nsd-backup-database +never\nsd-backup-daily +never\nsd-backup-weekly +FAILED \d+s ago.*\nsd-backup-cleanup +OK \d+s ago/,
  )
  const json = await runCli(['status', '--dest', nas, '--json'])
  t.match(JSON.parse(json.stdout), { stations: [{ station: 'zolder', jobs: { cleanup: { result: 'ok' } } }] })
})

t.test('next runs come from systemctl when it answers', async (t) => {
  const answers: Record<string, string> = {
    'sd-backup-weekly.timer': 'Sun 2026-12-06 03:00:00 UTC\n',
    'sd-backup-database.timer': '\n',
  }
  const run = async (_cmd: string, args: readonly string[]) => {
    const a = answers[args.at(-1)!]
    if (a === undefined) throw new Error('Unit not found')
    return { stdout: a, stderr: '' }
  }
  t.same(await nextRunsFromSystemd(run as never), { image: new Date('2026-12-06T03:00:00Z') })
  let out = ''
  const io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: process.stderr,
    env: {},
    sink: new LogSink({ write() {} }),
    defaultConfigPath: '/none',
    signals: new EventEmitter(),
  }
  const dest = tmp(t)
  mkdirSync(path.join(dest, 'zolder', 'images'), { recursive: true })
  t.equal(
    await cmdStatus(['--dest', dest, '--station', 'zolder'], io, now, async () => ({
      image: new Date('2026-12-06T03:00:00Z'),
    })),
    0,
  )
  t.match(out, /sd-backup-weekly +never, next in 6d/)
})

t.test('a failure with the NAS unmounted never writes status.json into the mount point', async (t) => {
  const dir = tmp(t)
  const mnt = path.join(dir, 'mnt')
  mkdirSync(path.join(mnt, 'b', 'zolder'), { recursive: true }) // an old directory on the card, under the empty mount point
  const r = await runCli([
    'image',
    '--device',
    path.join(dir, 'missing.img'),
    '--mount',
    mnt,
    '--dest',
    path.join(mnt, 'b'),
    '--station',
    'zolder',
  ])
  t.equal(r.code, 3, 'the source error comes first')
  t.notOk(existsSync(path.join(mnt, 'b', 'zolder', 'status.json')), 'nothing written onto the card')
})

t.test('a corrupt status.json shows as unreadable for that station only, and the next job rewrites it', async (t) => {
  const dest = tmp(t)
  mkdirSync(path.join(dest, 'zolder'))
  await recordJobResult(dest, 'zolder', 'files', rec('ok', '2026-11-29T02:00:00Z'))
  mkdirSync(path.join(dest, 'berging'))
  writeFileSync(path.join(dest, 'berging', 'status.json'), '{"jobs": {"files": ')
  mkdirSync(path.join(dest, 'schuur'))
  writeFileSync(path.join(dest, 'schuur', 'status.json'), JSON.stringify({ jobs: { files: { result: 7 } } }))
  const r = await runCli(['status', '--dest', dest, '--station', 'zolder'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^sd-backup-daily +unreadable status\.json +unreadable status\.json +OK /m)
  t.match(await readStationStatus(dest, 'schuur'), { unreadable: 'the files record is not valid' })
  await recordJobResult(dest, 'berging', 'database', rec('ok', '2026-11-29T03:15:00Z'))
  const fixed = JSON.parse(readFileSync(path.join(dest, 'berging', 'status.json'), 'utf8')) as StationStatus
  t.match(fixed, { station: 'berging', jobs: { database: { result: 'ok' } } })
  t.equal(fixed.unreadable, undefined)
})
