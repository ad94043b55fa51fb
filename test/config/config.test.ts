import t from 'tap'
import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseConfigText } from '../../lib/config/config-file.js'
import { loadConfig, settingsFor } from '../../lib/config/load-config.js'
import { ALL_OPTIONS, IMAGE_OPTIONS, parseOptionValue, type OptionSpec } from '../../lib/config/options.js'
import { ConfigError } from '../../lib/errors.js'
import { resolveImageOptions } from '../../lib/image/image-options.js'
import { formatBytes, formatDuration, parseSize } from '../../lib/util/size.js'
import { runCli } from '../helpers/cli.js'
import { tmp } from '../helpers/tmp.js'

const spec = (key: string): OptionSpec => IMAGE_OPTIONS.find((s) => s.key === key)!

t.test('values are typed and every rejection names the key', async (t) => {
  const ok: Array<[string, string, unknown]> = [
    ['full', 'yes', true],
    ['full', 'off', false],
    ['compress', 'zstd', 'zstd'],
    ['workers', '4', 4],
    ['chunk-size', '4M', 4 * 2 ** 20],
    ['chunk-size', '1MB', 1_000_000],
    ['min-free', '1.5G', 1.5 * 2 ** 30],
    ['station', 'zolder', 'zolder'],
  ]
  for (const [key, text, want] of ok) t.equal(parseOptionValue(spec(key), text), want, `${key} = ${text}`)
  const bad: Array<[string, string, string]> = [
    ['full', 'maybe', "'maybe' is not a boolean (use true or false)"],
    ['compress', 'xz', "'xz' is not one of: gzip, zstd"],
    ['workers', '0', '0 is below the minimum 1'],
    ['workers', '2.5', "'2.5' is not a whole number"],
    ['chunk-size', '1K', '1024 is below the minimum 65536'],
    ['chunk-size', '1G', '1073741824 is above the maximum 268435456'],
    ['chunk-size', 'big', "'big' is not a size (examples: 4M, 512K, 40G, 1.5TB)"],
    ['station', 'a/b', "'a/b' is not allowed here: use letters, digits, '.', '_' and '-'"],
    [
      'mail-on-success',
      'Image!',
      "'Image!' is not allowed here: use job names separated by commas (image,files) or none",
    ],
    ['dest', '', 'is empty'],
  ]
  for (const [key, text, problem] of bad) {
    t.throws(
      () => parseOptionValue(spec(key), text, 'f.conf', 3),
      new ConfigError(key, problem, 'f.conf', 3),
      `${key} = '${text}'`,
    )
  }
  t.equal(new ConfigError('level', 'bad', 'f.conf', 3).message, 'f.conf:3: level: bad')
})

t.test('the file: comments, quotes, sections, unknown keys and bad lines', async (t) => {
  const text = `# sd-backup config\n\ndest = "/mnt/nas/my backups" # quoted, with a space\nmount = '/mnt/nas#1' \n[image]\nlevel = 9\nchunk_size = 2M\n`
  t.same(parseConfigText(text, 'x', IMAGE_OPTIONS), {
    global: { dest: '/mnt/nas/my backups', mount: '/mnt/nas#1' },
    sections: { image: { level: 9, 'chunk-size': 2 * 2 ** 20 } },
  })
  t.throws(() => parseConfigText('dest = /x\ncolour = blue\n', 'x', IMAGE_OPTIONS), {
    name: 'ConfigError',
    key: 'colour',
    line: 2,
    problem: /^unknown key \(known keys: device, dest, mount,/,
  })
  t.throws(
    () => parseConfigText('just words\n', 'x', IMAGE_OPTIONS),
    new ConfigError('just words', "is not a 'key = value' line", 'x', 1),
  )
})

t.test(
  'a key set twice is an error, except list keys, which add up; an unknown section is named with its line',
  async (t) => {
    t.throws(
      () => parseConfigText('dest = /a\nlevel = 1\ndest = /b\n', 'f.conf', IMAGE_OPTIONS),
      new ConfigError('dest', 'is set twice in this section: keep one line', 'f.conf', 3),
    )
    t.same(
      parseConfigText('dest = /a\n[image]\ndest = /b\n', 'f.conf', IMAGE_OPTIONS).sections,
      { image: { dest: '/b' } },
      'a section may override a global key',
    )
    t.same(parseConfigText('db = /a.db\ndb = /b.db, /c.db\n', 'f.conf', ALL_OPTIONS).global, {
      db: ['/a.db', '/b.db', '/c.db'],
    })
    t.throws(() => parseConfigText('dest = /a\n\n[imgae]\nlevel = 9\n', 'f.conf', IMAGE_OPTIONS), {
      name: 'ConfigError',
      key: '[imgae]',
      line: 3,
      problem: /^unknown section \(known sections: image, database, files,/,
    })
    const dir = tmp(t)
    writeFileSync(path.join(dir, 'c.conf'), 'dest = /a\ndest = /b\n')
    const r = await runCli(['cleanup', '--config', path.join(dir, 'c.conf'), '--dry-run'])
    t.equal(r.code, 2)
    t.match(r.stderr, 'c.conf:2: dest: is set twice')
  },
)

t.test('lookup order: --config, then $SD_BACKUP_CONFIG, then the default path', async (t) => {
  const dir = tmp(t)
  const write = (name: string, station: string) => {
    const f = path.join(dir, name)
    writeFileSync(f, `station = ${station}\n`)
    return f
  }
  const a = write('a.conf', 'a')
  const b = write('b.conf', 'b')
  const c = write('c.conf', 'c')
  t.match(await loadConfig(IMAGE_OPTIONS, a, { SD_BACKUP_CONFIG: b }, c), { file: a, global: { station: 'a' } })
  t.match(await loadConfig(IMAGE_OPTIONS, undefined, { SD_BACKUP_CONFIG: b }, c), { file: b, global: { station: 'b' } })
  t.match(await loadConfig(IMAGE_OPTIONS, undefined, {}, c), { file: c, global: { station: 'c' } })
  t.same(
    await loadConfig(IMAGE_OPTIONS, undefined, {}, path.join(dir, 'none')),
    { file: undefined, global: {}, sections: {} },
    'a missing default file is fine',
  )
  await t.rejects(
    loadConfig(IMAGE_OPTIONS, path.join(dir, 'none'), {}),
    new ConfigError('config', `cannot read ${dir}/none (from --config): ENOENT`),
  )
  await t.rejects(
    loadConfig(IMAGE_OPTIONS, undefined, {}, dir),
    new ConfigError('config', `cannot read ${dir} (from default config): EISDIR`),
  )
  t.same(
    settingsFor(
      { global: { level: 1, workers: 2 }, sections: { image: { level: 2 } } },
      'image',
      { workers: 3 },
      IMAGE_OPTIONS,
    ),
    { level: 2, workers: 3 },
  )
})

t.test('image options: defaults per codec and the checks across keys', async (t) => {
  t.match(resolveImageOptions({ dest: '/d' }, 'zolder.local'), {
    station: 'zolder',
    codec: 'gzip',
    level: 6,
    chunkSize: 2 ** 20,
    progressIntervalSeconds: 30,
    device: undefined,
    mount: undefined,
  })
  t.match(resolveImageOptions({ dest: '/d', compress: 'zstd' }, 'p'), {
    codec: 'zstd',
    level: 3,
    chunkSize: 16 * 2 ** 20,
  })
  t.throws(() => resolveImageOptions({ dest: '/d', compress: 'zstd', 'chunk-size': 4 * 2 ** 20 }, 'p'), {
    code: 'SDB_CONFIG',
    key: 'chunk-size',
    problem: /too small for zstd/,
  })
  t.throws(
    () => resolveImageOptions({ dest: '/d', level: 12 }, 'p'),
    new ConfigError('level', '12 is outside 0-9 for gzip'),
  )
  t.match(resolveImageOptions({ dest: '/d', 'chunk-size': 100000, full: true }, 'p'), {
    chunkSize: 100000,
    full: true,
    skipTail: false,
    commandTimeoutSeconds: 300,
  })
  t.match(
    resolveImageOptions(
      { dest: '/d', 'skip-tail': true, 'before-image': 'a', 'after-image': 'b', 'command-timeout': 5 },
      'p',
    ),
    { full: false, skipTail: true, beforeImage: 'a', afterImage: 'b', commandTimeoutSeconds: 5 },
  )
  t.throws(
    () => resolveImageOptions({ dest: '/d', compress: 'zstd', level: 0 }, 'p'),
    new ConfigError('level', '0 is outside 1-19 for zstd'),
  )
  t.throws(() => resolveImageOptions({ dest: '/d' }, '_weird host'), {
    code: 'SDB_CONFIG',
    key: 'station',
    problem: /hostname '_weird host' is not usable/,
  })
})

t.test('sizes and durations read the way people write them', async (t) => {
  t.equal(parseSize('k', '512K'), 524288)
  t.equal(parseSize('k', '2 GiB'), 2 * 2 ** 30)
  t.equal(parseSize('k', '40GB'), 40e9)
  t.equal(parseSize('k', '123'), 123)
  t.equal(formatBytes(0), '0 B')
  t.equal(formatBytes(1023), '1023 B')
  t.equal(formatBytes(255869321216), '238.3 GiB')
  t.equal(formatBytes(42.5 * 2 ** 40), '42.5 TiB')
  t.equal(formatDuration(42.4), '42 s')
  t.equal(formatDuration(3665), '1 h 1 min')
  t.equal(formatDuration(61 * 60 + 5), '1 h 1 min')
  t.equal(formatDuration(59 * 60 + 5), '59 min 5 s')
  t.equal(formatDuration(-3), '0 s')
})

t.test('a config holding smtp-password that others can read is warned about, once', async (t) => {
  const dir = tmp(t)
  const conf = path.join(dir, 'sd-backup.conf')
  writeFileSync(conf, `dest = ${dir}\nsmtp-password = hunter2\n`, { mode: 0o644 })
  chmodSync(conf, 0o644)
  const r = await runCli(['cleanup', '--config', conf, '--dry-run', '--station', 'zolder'])
  t.equal(
    r.stderr.split(`warning: ${conf} holds smtp-password and is readable by others (mode 644): chmod 600 ${conf}`)
      .length - 1,
    1,
  )
  chmodSync(conf, 0o600)
  t.notMatch(
    (await runCli(['cleanup', '--config', conf, '--dry-run', '--station', 'zolder'])).stderr,
    'readable by others',
  )
})
