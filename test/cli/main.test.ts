import t from 'tap'
import { EventEmitter } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { VERSION } from '../../lib/version.js'
import { runCli } from '../helpers/cli.js'
import { listTree, mixedContent, sh, v2Digests } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { EXIT_CODE_HELP } from '../../lib/errors.js'

t.test('help teaches: commands, every option, an example and every exit code', async (t) => {
  const top = await runCli(['--help'])
  t.equal(top.code, 0)
  t.match(top.stdout, /Usage: sd-backup <command>[\s\S]*image +stream the SD card/)
  const none = await runCli([])
  t.equal(none.code, 2, 'no command is a usage error, with the help shown')
  t.equal(none.stdout, top.stdout)
  const img = await runCli(['image', '--help'])
  t.equal(img.code, 0)
  for (const flag of [
    '--device',
    '--dest',
    '--mount',
    '--station',
    '--compress',
    '--level',
    '--workers',
    '--chunk-size',
    '--min-free',
    '--progress-interval',
    '--full',
    '--config',
  ]) {
    t.match(img.stdout, new RegExp(`\\n  ${flag}\\b`), flag)
  }
  for (const [code, text] of EXIT_CODE_HELP)
    t.ok(img.stdout.includes(`${String(code).padStart(3)}  ${text}`), `exit ${code}`)
  t.equal((await runCli(['--version'])).stdout, `sd-backup ${VERSION}\n`)
  t.match(VERSION, /^\d+\.\d+\.\d+$/)
})

t.test('usage errors exit 2 with one line naming the problem', async (t) => {
  t.same(await runCli(['frobnicate']), {
    code: 2,
    stdout: '',
    stderr:
      "sd-backup frobnicate: unknown command 'frobnicate' (commands: database, files, image, status, list, verify, restore, alert, cleanup, install, sample-config, uninstall)\n",
    logs: [],
  })
  t.same(await runCli(['image', '--bogus']), {
    code: 2,
    stdout: '',
    stderr: "sd-backup image: Unknown option '--bogus' (see --help)\n",
    logs: [],
  })
  t.same(await runCli(['image', 'extra']), {
    code: 2,
    stdout: '',
    stderr: "sd-backup image: unexpected argument 'extra' (see --help)\n",
    logs: [],
  })
  t.same(await runCli(['image', '--level', 'high', '--dest', '/x']), {
    code: 2,
    stdout: '',
    stderr: "sd-backup image: command line: level: 'high' is not a whole number\n",
    logs: [],
  })
  t.same(await runCli(['image', '--device', '/x']), {
    code: 2,
    stdout: '',
    stderr:
      'sd-backup image: dest: is required: the backup root on the NAS (e.g. dest = /mnt/nas/backups, or --dest)\n',
    logs: [],
  })
})

t.test('a run logs JSON per job, prints the summary on a terminal and exits 0', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(3_000_000, 8))
  const conf = path.join(dir, 'sd-backup.conf')
  writeFileSync(
    conf,
    `# written by a person\ndest = ${dir}/nas   # the NAS\nstation = "berging"\n[image]\nchunk-size = 1M\nworkers = 2\n`,
  )
  const r = await runCli(['image', '--device', src, '--level', '1'], { env: { SD_BACKUP_CONFIG: conf }, tty: true })
  t.equal(r.code, 0, r.stderr)
  const file = path.join(dir, 'nas', 'berging', 'images', `berging-${new Date().toISOString().slice(0, 10)}.img.gz`)
  t.match(
    r.stderr,
    new RegExp(
      `image done: 2\\.9 MiB in, .* out \\(\\d+\\.\\d % saved\\), \\d+ s, [\\d.]+ MiB/s → ${file}; verified in \\d+ s\\n$`,
    ),
  )
  t.ok(
    r.logs.every((l) => l.job === 'image' && l.station === 'berging' && l.name === 'sd-backup'),
    'child logger fields on every line',
  )
  t.match(r.logs.at(-1), {
    msg: /^image done/,
    summary: {
      inputBytes: 3_000_000,
      path: file,
      root: (await v2Digests(src, JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8')).members)).root,
    },
  })
  t.match(r.logs[0], { msg: `source: ${src}`, config: conf })
  const manifest = JSON.parse(sh(`cat '${file}.manifest.json'`)) as { compressed: { chunkSize: number; level: number } }
  t.same(
    manifest.compressed,
    { bytes: (manifest.compressed as { bytes?: number }).bytes, codec: 'gzip', level: 1, chunkSize: 2 ** 20 },
    'flags beat the file, the [image] section applies',
  )
})

t.test('a config error names the file, the line and the key', async (t) => {
  const dir = tmp(t)
  const conf = path.join(dir, 'c.conf')
  writeFileSync(conf, 'dest = /mnt/nas\nworkers = many\n')
  t.same(await runCli(['image', '--config', conf]), {
    code: 2,
    stdout: '',
    stderr: `sd-backup image: ${conf}:2: workers: 'many' is not a whole number\n`,
    logs: [],
  })
  t.same(
    (await runCli(['image'], { env: { SD_BACKUP_CONFIG: path.join(dir, 'gone.conf') } })).stderr,
    `sd-backup image: config: cannot read ${dir}/gone.conf (from SD_BACKUP_CONFIG): ENOENT\n`,
  )
})

t.test('SIGTERM during a run removes the partial file and exits 143', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(40 * 2 ** 20, 5))
  const signals = new EventEmitter()
  const run = runCli(
    [
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
    ],
    { signals },
  )
  // Wait until the partial file exists, then signal.
  for (let i = 0; i < 500 && !listTree(dir).some((f) => f.endsWith('.partial')); i++)
    await new Promise((r) => setTimeout(r, 10))
  t.ok(
    listTree(dir).some((f) => f.endsWith('.partial')),
    'the run was writing',
  )
  signals.emit('SIGTERM')
  const r = await run
  t.equal(r.code, 143)
  t.equal(r.stderr, 'sd-backup image: interrupted by SIGTERM; the partial file was removed\n')
  t.same(listTree(path.join(dir, 'nas')), ['z/status.json'], 'no partial; the interrupted run is recorded')
  t.match(r.logs.at(-1), {
    level: 50,
    msg: 'interrupted by SIGTERM; the partial file was removed',
    err: { code: 'SDB_INTERRUPTED', signal: 'SIGTERM' },
  })
})
