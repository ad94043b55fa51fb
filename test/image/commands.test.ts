import t from 'tap'
import type { Test } from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { AfterCommandFailedError, BeforeCommandFailedError, WorkerCrashedError } from '../../lib/errors.js'
import { image, listTree, mixedContent } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { runCli } from '../helpers/cli.js'
import { pino } from 'pino'

// A card-sized stand-in and a log the commands append to, with what they saw.
function setup(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(src, mixedContent(3 * 2 ** 20, 3))
  const log = path.join(dir, 'commands.log')
  const images = path.join(dir, 'nas', 'zolder', 'images')
  // Each command records whether a partial image existed at that moment: before reading, none; after, one.
  const say = (word: string, extra = '') =>
    `echo ${word} $(ls '${images}' 2>/dev/null | grep -c partial) >> '${log}'${extra}`
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [])
  return { dir, src, log, images, say, lines }
}

t.test('before-image runs before the first read, after-image once reading is done', async (t) => {
  const { dir, src, say, lines } = setup(t)
  const r = await image(dir, src, { beforeImage: say('before'), afterImage: say('after') })
  t.same(lines(), ['before 1', 'after 1'], 'both ran once, in order, while the partial image was open')
  t.equal(r.manifest.verification?.result, 'ok')
})

t.test('a failed before-image stops the job: nothing read, no image left, after-image still runs', async (t) => {
  const { dir, src, say, lines } = setup(t)
  const err = await image(dir, src, { beforeImage: `${say('before')}; exit 3`, afterImage: say('after') }).catch(
    (e: unknown) => e,
  )
  t.match(err, new BeforeCommandFailedError(`${say('before')}; exit 3`, 'exit status 3'))
  t.equal((err as BeforeCommandFailedError).code, 'SDB_BEFORE_COMMAND_FAILED')
  t.same(lines(), ['before 1', 'after 1'])
  t.same(
    listTree(path.join(dir, 'nas')).filter((f) => f.includes('images/')),
    [],
    'no image, no partial',
  )
})

t.test('after-image runs when the image fails, and the image failure is what is reported', async (t) => {
  const { dir, src, say, lines } = setup(t)
  const err = await image(
    dir,
    src,
    { chunkSize: 256 * 1024, afterImage: say('after') },
    { crashOnChunk: 2, crashMode: 'exit' },
  ).catch((e: unknown) => e)
  t.ok(err instanceof WorkerCrashedError, 'the worker crash, not the command')
  t.same(lines(), ['after 1'])
})

t.test('a failed after-image leaves a complete, verified image and says so', async (t) => {
  const { dir, src, images, say, lines } = setup(t)
  const err = await image(dir, src, { afterImage: `${say('after')}; exit 1` }).catch((e: unknown) => e)
  t.type(err, AfterCommandFailedError)
  t.match(err, { code: 'SDB_AFTER_COMMAND_FAILED', reason: 'exit status 1', command: `${say('after')}; exit 1` })
  const file = (err as AfterCommandFailedError).file!
  t.match(err, { message: new RegExp(`the image itself is complete: ${file}`) })
  t.same(lines(), ['after 1'])
  const manifest = JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8'))
  t.equal(manifest.verification.result, 'ok', 'image and manifest kept, verified')
  t.ok(listTree(images).length === 2)
})

t.test('what a command prints goes into the log', async (t) => {
  const { dir, src } = setup(t)
  const logs: Array<{ msg: string; output?: string; failure?: string }> = []
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) })
  await image(
    dir,
    src,
    { beforeImage: 'echo stopping recorder; echo warning >&2', afterImage: 'echo started' },
    { log },
  )
  t.match(
    logs.find((l) => l.msg === 'before-image command done'),
    { output: 'stopping recorder\nwarning' },
  )
  t.match(
    logs.find((l) => l.msg === 'after-image command done'),
    { output: 'started' },
  )
})

t.test('a hung command is stopped after command-timeout', async (t) => {
  const { dir, src } = setup(t)
  const err = await image(dir, src, { beforeImage: 'sleep 30', commandTimeoutSeconds: 1 }).catch((e: unknown) => e)
  t.match(err, new BeforeCommandFailedError('sleep 30', 'timed out after 1 s'))
})

t.test('a command killed by a signal is reported with it', async (t) => {
  const { dir, src } = setup(t)
  const err = await image(dir, src, { beforeImage: 'kill -TERM $$' }).catch((e: unknown) => e)
  t.match(err, new BeforeCommandFailedError('kill -TERM $$', 'killed by SIGTERM'))
})

t.test('the CLI: exit 31 when before-image fails, 32 when after-image fails', async (t) => {
  const { dir, src } = setup(t)
  const base = [
    'image',
    '--device',
    src,
    '--dest',
    path.join(dir, 'nas'),
    '--station',
    'z',
    '--workers',
    '1',
    '--chunk-size',
    '256K',
  ]
  const before = await runCli([...base, '--before-image', 'exit 4'])
  t.equal(before.code, 31, before.stderr)
  t.match(before.stderr, /before-image command failed \(exit status 4\), so no image was taken: exit 4/)
  const after = await runCli([...base, '--after-image', 'exit 5'])
  t.equal(after.code, 32, after.stderr)
  t.match(
    after.stderr,
    /after-image command failed \(exit status 5\): exit 5; the image itself is complete: .*z-\d{4}-\d{2}-\d{2}\.img\.gz/,
  )
})
