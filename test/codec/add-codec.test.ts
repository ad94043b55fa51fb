import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { mixedContent, sh, sha256File } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

// A codec the project does not have: brotli, from node:zlib. It is the one new file.
const BROTLI = `import { brotliCompressSync, brotliDecompressSync, constants, crc32 } from 'node:zlib'
import { ownCopy } from '../workers/own-copy.js'
import { checkAgainstManifest, type ImageCodec } from './codec.js'

export const brotli: ImageCodec = {
  name: 'brotli',
  imageExtension: '.img.br',
  levels: { min: 0, max: 11, default: 5 },
  defaultChunkSize: 4 * 2 ** 20,
  minChunkSize: 0,
  help: '.img.br, for this test',
  encode: async (data, level) => ({
    body: ownCopy(brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: level } })),
    crc32: crc32(data),
  }),
  bodyBound: (n) => n + (n >> 3) + 1024,
  frame: (_level, body) => [body],
  decode: async (member, want) => {
    try {
      const raw = brotliDecompressSync(member)
      return checkAgainstManifest(raw, crc32(raw) >>> 0, want)
    } catch (err) {
      return { ok: false, reason: \`brotli: \${(err as Error).message}\` }
    }
  },
}
`

t.test(
  'a new codec is one file plus its line in the registry: it builds, and image, verify and restore use it',
  async (t) => {
    const dir = tmp(t)
    const copy = path.join(dir, 'copy')
    mkdirSync(copy)
    for (const f of ['lib', 'bin', 'tsconfig.json', 'package.json'])
      cpSync(path.join(root, f), path.join(copy, f), { recursive: true })
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'))
    writeFileSync(path.join(copy, 'lib/codec/brotli.ts'), BROTLI)
    const registry = path.join(copy, 'lib/codec/registry.ts')
    const before = readFileSync(registry, 'utf8')
    const after = before
      .replace(
        "import { zstd } from './zstd.js'\n",
        "import { zstd } from './zstd.js'\nimport { brotli } from './brotli.js'\n",
      )
      .replace('  zstd,\n', '  zstd,\n  brotli,\n')
    t.not(after, before, 'the registry took the line')
    writeFileSync(registry, after)
    // No bench/ in the copy: the build covers lib/ and bin/ only.
    const tsconfig = JSON.parse(readFileSync(path.join(copy, 'tsconfig.json'), 'utf8')) as { include: string[] }
    writeFileSync(
      path.join(copy, 'tsconfig.json'),
      JSON.stringify({ ...tsconfig, include: ['lib/**/*.ts', 'bin/**/*.ts'] }),
    )
    sh(`${path.join(root, 'node_modules/.bin/tsc')} -p ${copy}`)

    const cli = path.join(copy, 'dist/bin/sd-backup.js')
    const src = path.join(dir, 'card.img')
    writeFileSync(
      src,
      Buffer.concat([mixedContent(6 * 2 ** 20), Buffer.alloc(3 * 2 ** 20), mixedContent(2 ** 20 + 123, 7)]),
    )
    const nas = path.join(dir, 'nas')
    mkdirSync(nas)
    const run = (args: string[]) => sh(`${process.execPath} ${cli} ${args.map((a) => `'${a}'`).join(' ')} 2>&1`)
    run([
      'image',
      '--device',
      src,
      '--dest',
      nas,
      '--station',
      'st',
      '--compress',
      'brotli',
      '--level',
      '4',
      '--workers',
      '2',
      '--full',
    ])
    const images = sh(`ls ${nas}/st/images`).trim().split('\n')
    const file = images.find((n) => n.endsWith('.img.br'))
    t.ok(file, `the image is named by the codec's extension: ${images.join(', ')}`)
    const image = path.join(nas, 'st/images', file!)
    const manifest = JSON.parse(readFileSync(`${image}.manifest.json`, 'utf8')) as {
      compressed: { codec: string; level: number }
    }
    t.match(manifest.compressed, { codec: 'brotli', level: 4 })
    t.match(run(['verify', image]), /^OK image/m, 'verify decodes it on the decompression threads')
    run(['restore', image, '--output', path.join(dir, 'back.img')])
    t.equal(
      await sha256File(path.join(dir, 'back.img')),
      await sha256File(src),
      'restore gives the card back, byte for byte',
    )
    t.match(
      run(['list', '--dest', nas]),
      /st-\d{4}-\d{2}-\d{2}\.img\.br/,
      'list finds it: the layout knows the extension from the registry',
    )
  },
)
