import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The folders of lib/ are layers (docs/DESIGN.md, "Code layout"): a folder imports
// only from its own layer or below, never in a cycle. Files directly in lib/ are
// their own nodes: index.ts is the API (the top), errors.ts and version.ts the bottom.
const LAYERS: Record<string, number> = {
  errors: 0,
  version: 0,
  util: 0,
  log: 0,
  system: 0,
  workers: 1,
  codec: 2,
  dest: 3,
  config: 3,
  image: 4,
  database: 4,
  files: 4,
  retention: 4,
  verify: 4,
  restore: 4,
  list: 4,
  install: 4,
  status: 5,
  alert: 5,
  jobs: 6,
  cli: 7,
  index: 8,
}

const lib = fileURLToPath(new URL('../../lib/', import.meta.url))

function sources(dir = lib): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  )
}

// A file's node: its folder under lib/, or its own name for a file directly in lib/.
function node(file: string): string {
  const rel = path.relative(lib, file).split(path.sep)
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '')
}

interface Edge {
  readonly from: string
  readonly to: string
  readonly file: string
}

function edges(): Edge[] {
  return sources().flatMap((file) => {
    const text = readFileSync(file, 'utf8')
    return [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => {
      const target = path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts'))
      return { from: node(file), to: node(target), file: path.relative(lib, file) }
    })
  })
}

// Code without comments, so what a comment says is never taken for what the code does.
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l))
    .join('\n')
}

t.test('every folder of lib/ has a layer', async (t) => {
  for (const n of new Set(sources().map(node))) t.ok(n in LAYERS, `${n} is placed in LAYERS`)
})

t.test('imports only go down the layers (or stay in their own)', async (t) => {
  const up = edges().filter((e) => e.from !== e.to && LAYERS[e.to]! > LAYERS[e.from]!)
  t.same(
    up.map((e) => `${e.file} imports ${e.to}`),
    [],
  )
})

t.test('no cycle between folders', async (t) => {
  const next = new Map<string, Set<string>>()
  for (const e of edges()) if (e.from !== e.to) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to))
  const cycles: string[] = []
  const visit = (n: string, trail: string[]) => {
    for (const m of next.get(n) ?? []) {
      const at = trail.indexOf(m)
      if (at >= 0) cycles.push([...trail.slice(at), m].join(' → '))
      else visit(m, [...trail, m])
    }
  }
  for (const n of next.keys()) visit(n, [n])
  t.same(cycles, [])
})

t.test('lib/image/ is imported only by the CLI and the API', async (t) => {
  const users = edges().filter((e) => e.to === 'image' && e.from !== 'image')
  t.same(
    users.filter((e) => e.from !== 'cli' && e.from !== 'index').map((e) => e.file),
    [],
  )
})

t.test('only lib/dest/ builds paths under --dest', async (t) => {
  // What building a name in the backup tree looks like: joining onto dest or a
  // station directory, or spelling one of the tree's own names.
  const patterns = [
    /join\([^)]*\b(dest|stationDir)\b/,
    /\$\{[^}]+\}\.(manifest\.json|bmap|partial)\b/,
    /\.lock-\$\{/,
    /\.in-progress-\$\{/,
    /'status\.json'/,
    /join\([^)]*'(images|database|files)'/,
    /'\.sd-backup-manifest\.json'/,
  ]
  // The check itself: each way of building a path that lib/ once had is caught.
  for (const bad of [
    "path.join(opts.dest, opts.station, 'database')",
    'const file = `${image}.manifest.json`',
    'path.join(stationDir, `.lock-${job}`)',
    "path.join(dest, e.name, 'images')",
  ]) {
    t.ok(
      patterns.some((p) => p.test(bad)),
      `caught: ${bad}`,
    )
  }
  const found: string[] = []
  for (const file of sources()) {
    if (node(file) === 'dest') continue
    code(file)
      .split('\n')
      .forEach((l, i) => {
        for (const p of patterns)
          if (p.test(l)) found.push(`${path.relative(lib, file)}:${i + 1}: ${l.trim().slice(0, 100)}`)
      })
  }
  t.same(found, [])
})
