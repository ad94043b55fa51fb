import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { has } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { missingTools, withTools } from '../helpers/tools.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const script = path.join(here, 'ensure-tools.mjs')
const { tools } = JSON.parse(readFileSync(path.join(here, 'debian-tools.json'), 'utf8')) as {
  tools: Record<string, string>
}
const test = withTools(t, 'setpriv')

// A PATH holding every tool but `without`, as links to the real ones, plus `sh`.
function pathWithout(dir: string, ...without: string[]): string {
  for (const cmd of ['sh', ...Object.keys(tools)]) {
    if (without.includes(cmd) || cmd.startsWith('/') || !has(cmd)) continue
    const real = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim()
    symlinkSync(real, path.join(dir, cmd))
  }
  return dir
}

test('not root: prints the one apt-get line, installs nothing, and the run goes on', async (t) => {
  const dir = tmp(t)
  chmodSync(dir, 0o755)
  // python3 too: here it may be a pyenv shim under /root, which the unprivileged user cannot run.
  const bin = pathWithout(dir, 'sqlite3', 'bsdcat', '7z', 'python3')
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script], {
    env: { PATH: bin },
    encoding: 'utf8',
  })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /missing (python3|sqlite3|bsdcat|7z), .*: the tests that need them are skipped/)
  t.match(r.stdout, 'To run every test: sudo apt-get install -y libarchive-tools p7zip-full python3 sqlite3\n')
})

test('root with apt: updates the lists once, then installs just the missing packages', async (t) => {
  const bin = pathWithout(tmp(t), 'bsdcat', 'busybox')
  const log = path.join(bin, 'apt.log')
  // A stand-in apt-get: records its arguments and "installs" by adding the commands.
  writeFileSync(
    path.join(bin, 'apt-get'),
    `#!/bin/sh\necho "$*" >> '${log}'\n` +
      `case "$*" in *install*) for c in bsdcat busybox; do printf '#!/bin/sh\\n' > '${bin}'/$c; /bin/chmod +x '${bin}'/$c; done;; esac\n`,
    { mode: 0o755 },
  )
  const r = spawnSync(process.execPath, [script], { env: { PATH: bin }, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, 'installing the tools the tests use: busybox libarchive-tools')
  t.same(readFileSync(log, 'utf8').trim().split('\n'), ['update -qq', 'install -y -qq busybox libarchive-tools'])
})

test('every tool is present: says nothing', async (t) => {
  const bin = pathWithout(tmp(t))
  const r = spawnSync(process.execPath, [script], { env: { PATH: bin }, encoding: 'utf8' })
  t.equal(r.status, 0)
  t.equal(r.stdout, '')
})

t.test('a test needing a missing tool is skipped, naming the tool and its package', async (t) => {
  process.env.SDB_TEST_WITHOUT = 'bmaptool'
  t.equal(missingTools('bmaptool', 'gzip'), 'needs bmaptool (apt-get install bmap-tools)')
  t.equal(missingTools('gzip'), '')
  delete process.env.SDB_TEST_WITHOUT
})
