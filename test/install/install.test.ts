import t from 'tap'
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { EventEmitter } from 'node:events'
import { cmdInstall, cmdUninstall } from '../../lib/cli/cmd-install.js'
import { LogSink } from '../../lib/log/logger.js'
import { runCli } from '../helpers/cli.js'
import { has, listTree, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'systemd-analyze')

const UNITS = ['cleanup', 'daily', 'database', 'weekly'].flatMap((j) => [
  `sd-backup-${j}.service`,
  `sd-backup-${j}.timer`,
])

test('install --root writes units for this machine and a config once; uninstall removes the units only', async (t) => {
  const root = tmp(t)
  const conf = path.join(root, 'my.conf')
  writeFileSync(conf, 'mount = /srv/nas\ndest = /srv/nas/backups\n')
  const r = await runCli(['install', '--root', root, '--config', conf])
  t.equal(r.code, 0, r.stderr)
  t.same(
    listTree(root).filter((f) => f.startsWith('etc/')),
    [...UNITS.map((u) => `etc/systemd/system/${u}`).sort(), 'etc/sd-backup/sd-backup.conf'].sort(),
  )
  t.match(
    r.stdout,
    /^would run systemctl enable --now sd-backup-cleanup\.timer sd-backup-daily\.timer sd-backup-database\.timer sd-backup-weekly\.timer$/m,
  )
  const weekly = readFileSync(path.join(root, 'etc/systemd/system/sd-backup-weekly.service'), 'utf8')
  t.match(weekly, new RegExp(`^ExecStart=${process.execPath.replace(/[.]/g, '\\.')} \\S+ image$`, 'm'))
  t.match(weekly, /^RequiresMountsFor=\/srv\/nas$/m)
  t.match(weekly, /^ReadWritePaths=\/srv\/nas$/m)
  t.equal(
    statSync(path.join(root, 'etc/sd-backup/sd-backup.conf')).mode & 0o777,
    0o600,
    'the config may hold an SMTP password',
  )
  if (has('systemd-analyze')) {
    sh(`cd '${root}/etc/systemd/system' && systemd-analyze verify ${UNITS.join(' ')}`)
    t.pass('rendered units pass systemd-analyze verify')
  }
  // A person edits the config; a second install keeps it.
  writeFileSync(path.join(root, 'etc/sd-backup/sd-backup.conf'), 'dest = /edited\n')
  const again = await runCli(['install', '--root', root, '--config', conf])
  t.match(again.stdout, new RegExp(`^keep ${root}/etc/sd-backup/sd-backup\\.conf \\(exists\\)$`, 'm'))
  t.equal(readFileSync(path.join(root, 'etc/sd-backup/sd-backup.conf'), 'utf8'), 'dest = /edited\n')
  const un = await runCli(['uninstall', '--root', root])
  t.equal(un.code, 0)
  t.same(
    listTree(root).filter((f) => f.startsWith('etc/')),
    ['etc/sd-backup/sd-backup.conf'],
    'units gone, config kept',
  )
})

test('--dry-run writes nothing; on / it runs systemctl', async (t) => {
  const root = tmp(t)
  const dry = await runCli(['install', '--root', root, '--dry-run'])
  t.match(dry.stdout, /^would write .*sd-backup-weekly\.timer$/m)
  t.same(listTree(root), [])
  const calls: string[] = []
  let out = ''
  const io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: process.stderr,
    env: {},
    sink: new LogSink({ write() {} }),
    defaultConfigPath: '/none',
    signals: new EventEmitter(),
  }
  const fake = async (cmd: string, args: readonly string[]) => void calls.push([cmd, ...args].join(' '))
  t.equal(await cmdInstall(['--dry-run'], io, fake), 0)
  t.same(calls, [], 'a dry run on / runs nothing')
  t.notOk(existsSync('/etc/systemd/system/sd-backup-weekly.timer') && out.includes('write /etc'), 'and wrote nothing')
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true })
  t.equal(await cmdUninstall(['--dry-run'], io, fake), 0)
  t.same(calls, [])
  t.equal((await runCli(['install', '--help'])).code, 0)
  t.equal((await runCli(['uninstall', '--help'])).code, 0)
})
