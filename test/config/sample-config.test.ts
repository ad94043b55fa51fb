import { readFileSync } from 'node:fs'
import t from 'tap'
import { CODECS } from '../../lib/codec/registry.js'
import { parseConfigText } from '../../lib/config/config-file.js'
import { settingsFor } from '../../lib/config/load-config.js'
import { ALL_OPTIONS, IMAGE_OPTIONS, RESTORE_OPTIONS, SPECS, settingOr } from '../../lib/config/options.js'
import { renderSampleConfig } from '../../lib/config/sample-config.js'
import { DEFAULT_POLICY } from '../../lib/retention/apply-policy.js'
import { runCli } from '../helpers/cli.js'

const sample = readFileSync(new URL('../../systemd/sd-backup.conf', import.meta.url), 'utf8')

t.test('the shipped sample config is the one rendered from the option table (npm run sample-config)', async (t) => {
  t.equal(sample, renderSampleConfig())
})

t.test('the sample lists every key a config file may hold, with its default', async (t) => {
  for (const o of ALL_OPTIONS) {
    if (o.flagOnly) continue
    const lines = sample.split('\n')
    const at = lines.findIndex(
      (l, i) => new RegExp(`^(# )?${o.name} =`).test(l) && lines[i - 1]!.startsWith(`# ${o.help.split('\n')[0]}`),
    )
    t.ok(at > 0, `${o.key} is in the sample`)
    if (o.default !== undefined) {
      const shown = Array.isArray(o.default) ? o.default.join(', ') : String(o.default)
      t.equal(lines[at], `# ${o.name} = ${shown}`, `${o.key} shows its default`)
    }
  }
})

t.test('the sample sets only what a job cannot run without; everything else stays at its default', async (t) => {
  const parsed = parseConfigText(sample, 'sd-backup.conf', ALL_OPTIONS)
  t.same(parsed.global, { dest: '/mnt/nas/backups', mount: '/mnt/nas' })
  for (const v of Object.values(parsed.sections)) t.same(v, {})
  const s = settingsFor(parsed, 'image', {}, IMAGE_OPTIONS)
  t.equal(settingOr(s, 'verify'), true)
  t.equal(settingOr(s, 'command-timeout'), 300)
  t.equal(settingOr(s, 'compress'), 'gzip')
})

t.test("the table's defaults are the ones the jobs use: retention policy and codecs", async (t) => {
  t.equal(SPECS['keep-weekly'].default, DEFAULT_POLICY.keepWeekly)
  t.equal(SPECS['keep-daily'].default, DEFAULT_POLICY.keepDaily)
  t.equal(SPECS['keep-hourly'].default, DEFAULT_POLICY.keepHourly)
  t.equal(SPECS['keep-daily-database'].default, DEFAULT_POLICY.keepDailyDatabase)
  t.same(SPECS.compress.values, Object.keys(CODECS))
  for (const c of Object.values(CODECS))
    t.match(SPECS.level.defaultText, `${c.name} ${c.levels.min}-${c.levels.max}: ${c.levels.default}`)
})

t.test(
  "a key that means something else per command is its command's own: global verify never turns on restore's read-back",
  async (t) => {
    const parsed = parseConfigText('verify = true\nworkers = 2\n[restore]\nworkers = 3\n', 'x.conf', ALL_OPTIONS)
    const restore = settingsFor(parsed, 'restore', {}, RESTORE_OPTIONS)
    t.equal(settingOr(restore, 'read-back'), false)
    t.same(restore, { workers: 3 })
    t.same(settingsFor(parsed, 'image', {}, IMAGE_OPTIONS), { verify: true, workers: 2 })
  },
)

t.test('what a restore is aimed at is never read from a config file', async (t) => {
  for (const key of ['device', 'output', 'target', 'yes', 'keep-setuid']) {
    t.throws(
      () => parseConfigText(`[restore]\n${key} = x\n`, 'x.conf', ALL_OPTIONS),
      { code: 'SDB_CONFIG', message: /command line only/ },
      key,
    )
  }
})

t.test('sd-backup sample-config prints the shipped sample; it takes no arguments', async (t) => {
  const r = await runCli(['sample-config'])
  t.equal(r.code, 0)
  t.equal(r.stdout, sample)
  t.match((await runCli(['sample-config', '--help'])).stdout, /every key, its help and its default/)
  const bad = await runCli(['sample-config', 'x'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /takes no arguments/)
})
