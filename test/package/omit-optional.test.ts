import t from 'tap'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { listTree, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'sqlite3', 'zstd')

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
const current = major > 22 || (major === 22 && minor >= 15)

// The package as a Pi owner installs it without optional dependencies: the built
// dist/ beside `npm ci --omit=optional --omit=dev` (scripts off only for our own
// prepare, which needs the dev tools; no dependency left has an install script).
test(
  current
    ? `Node ${process.version}: --omit=optional installs nothing native, and the database and zstd paths work`
    : `Node ${process.version}: --omit=optional leaves no SQLite or zstd, and the commands say so (exit 36)`,
  async (t) => {
    const dir = tmp(t, 'sdb-omit-')
    for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(root, f), path.join(dir, f))
    cpSync(path.join(root, 'dist/lib'), path.join(dir, 'dist/lib'), { recursive: true })
    cpSync(path.join(root, 'dist/bin'), path.join(dir, 'dist/bin'), { recursive: true })
    const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` }
    const install = spawnSync(
      'npm',
      ['ci', '--omit=optional', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'],
      {
        cwd: dir,
        env,
        encoding: 'utf8',
      },
    )
    t.equal(install.status, 0, install.stderr)
    const modules = path.join(dir, 'node_modules')
    t.notOk(existsSync(path.join(modules, 'better-sqlite3')), 'better-sqlite3 is not installed')
    t.notOk(existsSync(path.join(modules, '@mongodb-js/zstd')), '@mongodb-js/zstd is not installed')
    t.same(
      listTree(modules).filter((f) => f.endsWith('.node')),
      [],
      'no compiled addon anywhere in node_modules',
    )
    const lock = JSON.parse(readFileSync(path.join(modules, '.package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>
    }
    t.same(
      Object.entries(lock.packages)
        .filter(([, p]) => p.hasInstallScript)
        .map(([name]) => name),
      [],
      'no installed package has an install script to build with',
    )
    t.ok(readdirSync(modules).includes('pino'), 'the required dependencies are there')

    const cli = path.join(dir, 'dist/bin/sd-backup.js')
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env })
    const db = path.join(dir, 'birds.db')
    sh(`sqlite3 '${db}' "CREATE TABLE detections (Com_Name TEXT); INSERT INTO detections VALUES ('Robin'), ('Wren');"`)
    const card = path.join(dir, 'card.img')
    writeFileSync(card, Buffer.concat([Buffer.alloc(1 << 20, 'sd-backup '), Buffer.alloc(3 << 20)]))
    const nas = path.join(dir, 'nas')
    const database = run('database', '--db', db, '--dest', nas, '--station', 'shed')
    const image = run(
      'image',
      '--device',
      card,
      '--dest',
      nas,
      '--station',
      'shed',
      '--compress',
      'zstd',
      '--chunk-size',
      '16M',
    )
    if (!current) {
      t.equal(database.status, 36, database.stderr)
      t.match(database.stderr, /no SQLite in this runtime: .*better-sqlite3/)
      t.equal(image.status, 36, image.stderr)
      t.match(image.stderr, /no zstd in this runtime: .*--compress gzip/)
      return
    }
    t.equal(database.status, 0, database.stderr)
    t.notMatch(database.stderr, /ExperimentalWarning/)
    const copy = listTree(nas).find((f) => f.endsWith('.db.zst'))!
    sh(`zstd -tq '${nas}/${copy}' && zstd -dqc '${nas}/${copy}' > '${dir}/restored.db'`)
    t.equal(sh(`sqlite3 '${dir}/restored.db' 'SELECT count(*) FROM detections'`).trim(), '2')
    t.equal(run('verify', path.join(nas, copy)).status, 0, 'verify reads the copy back through node:sqlite')
    t.equal(image.status, 0, image.stderr)
    const img = listTree(nas).find((f) => f.endsWith('.img.zst'))!
    t.match(sh(`zstd -lv '${nas}/${img}'`), /Check: XXH64/)
    t.equal(sh(`zstd -dqc '${nas}/${img}' | sha256sum`), sh(`sha256sum < '${card}'`), 'zstd -d gives the card back')
    const restore = run('restore', path.join(nas, img), '--output', path.join(dir, 'back.img'))
    t.equal(restore.status, 0, restore.stderr)
    t.equal(sh(`sha256sum < '${dir}/back.img'`), sh(`sha256sum < '${card}'`), 'restore gives the card back')
  },
)
