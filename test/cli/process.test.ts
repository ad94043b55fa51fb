import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { listTree, mixedContent } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

const cli = path.resolve('dist/bin/sd-backup.js')

// The built CLI as systemd runs it: a real process, real signals, stdout a pipe.
for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  t.test(`${signal} to the real process: exit ${code}, no partial file, the last log line kept`, async (t) => {
    const dir = tmp(t)
    const src = path.join(dir, 'src.img')
    writeFileSync(src, mixedContent(64 * 2 ** 20, 6))
    const child = spawn(
      process.execPath,
      [
        cli,
        'image',
        '--device',
        src,
        '--dest',
        path.join(dir, 'nas'),
        '--station',
        'z',
        '--chunk-size',
        '256K',
        '--level',
        '9',
        '--workers',
        '1',
        '--progress-interval',
        '1',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    for (let i = 0; i < 1000 && !listTree(dir).some((f) => f.endsWith('.partial')); i++)
      await new Promise((r) => setTimeout(r, 10))
    child.kill(signal)
    const exit = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
    t.equal(exit, code)
    t.same(listTree(path.join(dir, 'nas')), ['z/status.json'], 'no partial; the interrupted run is recorded')
    t.equal(err, `sd-backup image: interrupted by ${signal}; the partial file was removed\n`)
    const last = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>
    t.match(last, { level: 50, job: 'image', err: { code: 'SDB_INTERRUPTED', signal } })
  })
}

t.test('progress is logged every --progress-interval seconds when not on a terminal', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, randomBytes(96 * 2 ** 20)) // incompressible: about 2 s on one worker
  const child = spawn(
    process.execPath,
    [
      cli,
      'image',
      '--device',
      src,
      '--dest',
      path.join(dir, 'nas'),
      '--station',
      'z',
      '--chunk-size',
      '256K',
      '--level',
      '9',
      '--workers',
      '1',
      '--progress-interval',
      '1',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const exit = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
  t.equal(exit, 0)
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; progress?: Record<string, number> })
  const progress = lines.filter((l) => l.msg === 'progress')
  t.ok(progress.length >= 1, `${progress.length} progress lines`)
  t.match(progress[0]?.progress, {
    percent: Number,
    bytesRead: Number,
    totalBytes: 96 * 2 ** 20,
    mibPerSec: Number,
    savedPercent: Number,
    etaSeconds: Number,
  })
  t.match(lines.at(-1), { msg: /^image done: 96\.0 MiB in/ })
})
