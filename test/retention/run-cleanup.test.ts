import t from 'tap'
import { mkdirSync, truncateSync, utimesSync, writeFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { DEFAULT_POLICY } from '../../lib/retention/apply-policy.js'
import { runCleanup } from '../../lib/retention/run-cleanup.js'
import { runCli } from '../helpers/cli.js'
import { listTree } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

const now = new Date(2026, 10, 29, 12, 0)
const silent = pino({ level: 'silent' })

// A station directory as the image job leaves it after ten Sundays, plus debris.
function nas(t: Parameters<Parameters<typeof t.test>[1]>[0]) {
  const dest = tmp(t)
  const images = path.join(dest, 'zolder', 'images')
  mkdirSync(images, { recursive: true })
  const sundays: string[] = []
  for (let w = 0; w < 10; w++) {
    const d = new Date(2026, 10, 29 - 7 * w)
    const name = `zolder-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}.img.gz`
    sundays.push(name)
    writeFileSync(path.join(images, name), `image ${w}\n`)
    writeFileSync(path.join(images, `${name}.manifest.json`), '{}\n')
  }
  const old = (f: string) => utimesSync(f, new Date(2026, 10, 20), new Date(2026, 10, 20))
  writeFileSync(path.join(images, 'zolder-2026-11-25.img.gz'), 'no manifest, from Wednesday\n') // incomplete, 4 days old
  writeFileSync(path.join(images, 'zolder-2026-11-29.img.gz.4242-abcdef.partial'), 'x')
  old(path.join(images, 'zolder-2026-11-29.img.gz.4242-abcdef.partial'))
  writeFileSync(path.join(images, 'zolder-2026-11-28.img.gz.777-abcdef.partial'), 'y')
  old(path.join(images, 'zolder-2026-11-28.img.gz.777-abcdef.partial'))
  writeFileSync(path.join(images, 'notes.txt'), 'mine, not the tool\'s\n')
  writeFileSync(path.join(images, 'zolder-before-upgrade.img.gz'), 'a hand-made image\n')
  // The image job is running as pid 777 on this host: its partial is held.
  writeFileSync(path.join(dest, 'zolder', '.lock-image'), JSON.stringify({ pid: 777, host: 'zolder', started: 'x' }))
  return { dest, images, sundays }
}

t.test('cleanup removes what the policy says, and only names the tool wrote', async (t) => {
  const { dest, images, sundays } = nas(t)
  const before = listTree(dest)
  const dry = await runCleanup({ dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: true }, { log: silent, now, host: 'zolder', alive: (pid) => pid === 777 })
  t.same(listTree(dest), before, 'a dry run removes nothing')
  const removed = dry.decisions.filter((d) => d.action === 'remove').map((d) => [d.backup.name, d.reason])
  t.same(removed, [
    ['zolder-2026-09-27.img.gz', 'older than the newest 7 weekly images'],
    ['zolder-2026-10-04.img.gz', 'older than the newest 7 weekly images'],
    ['zolder-2026-10-11.img.gz', 'older than the newest 7 weekly images'],
    ['zolder-2026-11-25.img.gz', 'incomplete (no manifest), older than a day'],
    ['zolder-2026-11-29.img.gz.4242-abcdef.partial', 'partial file of an unfinished run, older than a day'],
  ])
  t.match(
    dry.decisions.find((d) => d.backup.name === 'zolder-2026-11-28.img.gz.777-abcdef.partial'),
    { action: 'keep', reason: 'held by a running job' },
  )
  const real = await runCleanup({ dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: false }, { log: silent, now, host: 'zolder', alive: (pid) => pid === 777 })
  t.same(real.decisions, dry.decisions)
  t.equal(real.freedBytes, 3 * 'image 9\n'.length + 'no manifest, from Wednesday\n'.length + 1)
  const left = listTree(path.join(images))
  for (const name of sundays.slice(0, 7)) t.ok(left.includes(name) && left.includes(`${name}.manifest.json`), `${name} kept with its manifest`)
  for (const name of sundays.slice(7)) t.notOk(left.includes(name) || left.includes(`${name}.manifest.json`), `${name} removed with its manifest`)
  t.ok(left.includes('notes.txt') && left.includes('zolder-before-upgrade.img.gz'), 'foreign files untouched')
  t.ok(existsSync(path.join(images, 'zolder-2026-11-28.img.gz.777-abcdef.partial')))
  t.notOk(existsSync(path.join(dest, 'zolder', '.lock-cleanup')), 'its own lock released')
  t.equal(real.spaceWarning, undefined)
})

t.test('warns when the NAS lacks room for the next weekly image', async (t) => {
  const { dest, images } = nas(t)
  truncateSync(path.join(images, 'zolder-2026-11-29.img.gz'), 2 ** 43) // a sparse "8 TiB" newest image
  const r = await runCleanup({ dest, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: true }, { log: silent, now, host: 'zolder', alive: () => false })
  t.match(r.spaceWarning, /^the NAS has \d+ bytes free, less than the next weekly image needs \(~10555311626650, the newest image x 1\.2\)/)
})

t.test('the CLI: --dry-run lists every decision; an unmounted NAS is refused', async (t) => {
  const { dest } = nas(t)
  const r = await runCli(['cleanup', '--dest', dest, '--station', 'zolder', '--dry-run', '--keep-weekly', '8'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /^keep +zolder-2026-10-11\.img\.gz  \(one of the newest 8 weekly images\)$/m)
  t.match(r.stderr, /^would remove zolder-2026-10-04\.img\.gz  \(older than the newest 8 weekly images\)$/m)
  t.match(r.stderr, /^dry run: nothing removed; .* free on the NAS after cleanup$/m)
  t.ok(r.logs.every((l) => l.job === 'cleanup'))
  const un = await runCli(['cleanup', '--dest', dest, '--mount', dest, '--station', 'zolder'])
  t.equal(un.code, 4)
  t.match(un.stderr, /is not a mounted filesystem/)
  t.equal((await runCli(['cleanup', '--help'])).code, 0)
  t.equal((await runCli(['cleanup'])).code, 2)
})
