import t from 'tap'
import { truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import path from 'node:path'
import { has, image, listTree, mixedContent, sh, sha256File, v2Digests } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'gzip', 'pigz', 'python3', 'zcat', 'zstd')

const decoders: Array<[string, (f: string) => string]> = [
  ['gzip -d', (f) => `gzip -dc '${f}' | sha256sum`],
  ['pigz -d', (f) => `pigz -dc '${f}' | sha256sum`],
  ['zcat', (f) => `zcat '${f}' | sha256sum`],
  [
    'python3 gzip',
    (f) =>
      `python3 -c "import gzip,hashlib,sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())" '${f}'`,
  ],
]

// Sizes around the chunk size (64 KiB here), the empty source and a single byte.
const sizes = [0, 1, 65535, 65536, 65537, 3 * 65536 + 123, 1_000_003]

test('gzip output decompresses byte-identical with every standard tool', async (t) => {
  for (const size of sizes) {
    const dir = tmp(t)
    const src = path.join(dir, 'src.img')
    writeFileSync(src, mixedContent(size, size + 1))
    const r = await image(dir, src)
    const want = await sha256File(src)
    t.equal(r.manifest.raw.root, (await v2Digests(src, r.manifest.members)).root, `manifest root digest, ${size} bytes`)
    t.equal(r.manifest.raw.bytes, size)
    t.equal(
      r.manifest.members.length,
      Math.max(1, Math.ceil(size / 65536)),
      'one member per chunk, one for an empty source',
    )
    for (const [name, cmd] of decoders) {
      if (name.startsWith('pigz') && !has('pigz')) continue
      t.equal(sh(cmd(r.file)).split(' ')[0]!.trim(), want, `${name}, ${size} bytes`)
    }
    t.same(
      listTree(path.join(dir, 'nas')),
      ['zolder/images/' + r.manifest.image, 'zolder/images/' + r.manifest.image + '.manifest.json'],
      'image and manifest, nothing else',
    )
  }
})

test('zstd output is read by zstd -d, one frame per chunk', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(40 * 2 ** 20 + 17, 5))
  const r = await image(dir, src, { codec: 'zstd', level: 3, chunkSize: 16 * 2 ** 20 })
  t.match(r.file, /\.img\.zst$/)
  t.equal(r.manifest.members.length, 3)
  t.equal(sh(`zstd -dc '${r.file}' | sha256sum`).split(' ')[0], await sha256File(src))
})

test('a sparse source over 4 GiB round-trips (ISIZE wraps per member, not per file)', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'big.img')
  const size = 4 * 2 ** 30 + 3 * 2 ** 20 + 5
  const fd = openSync(src, 'w')
  writeSync(fd, mixedContent(3 * 2 ** 20, 9), 0, 3 * 2 ** 20, 0)
  writeSync(fd, Buffer.from('end of card'), 0, 11, size - 11)
  closeSync(fd)
  truncateSync(src, size)
  const r = await image(dir, src, { chunkSize: 4 * 2 ** 20, wholeSha256: true })
  const want = sh(`sha256sum '${src}'`).split(' ')[0]
  t.equal(r.manifest.raw.sha256, want, 'whole-sha256: the SHA-256 of the whole image, as sha256sum gives it')
  t.equal(r.manifest.raw.root, (await v2Digests(src, r.manifest.members)).root)
  t.ok(
    r.manifest.members.filter((e) => e[4] === 0).length > 1000,
    'the zero members are marked, not hashed in the manifest',
  )
  t.equal(r.manifest.raw.bytes, size)
  t.ok(r.manifest.compressed.bytes < 16 * 2 ** 20, 'zeros cost almost nothing')
  t.equal(sh(`gzip -dc '${r.file}' | sha256sum`).split(' ')[0], want, 'gzip -d')
})
