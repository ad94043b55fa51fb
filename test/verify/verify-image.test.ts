import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { copyFileSync, readFileSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs'
import path from 'node:path'
import {
  BackupCorruptError,
  ManifestMismatchError,
  ManifestMissingError,
  TrailingDataError,
  TruncatedAtBoundaryError,
  TruncatedMidMemberError,
} from '../../lib/errors.js'
import type { ImageManifest } from '../../lib/dest/image-manifest.js'
import { verifyImage } from '../../lib/verify/verify-image.js'
import { readImageManifest } from '../../lib/dest/read-image-manifest.js'
import { runCli } from '../helpers/cli.js'
import { image, mixedContent, sh, v2Digests } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'gzip', 'zstd')

// One image of 1.5 MiB of mixed content in 64 KiB members per codec, made once;
// each test damages its own copy (same name: the manifest names its image).
const pristine = new Map<string, Promise<{ src: string; file: string; manifestFile: string }>>()
function made(codec: 'gzip' | 'zstd') {
  if (!pristine.has(codec)) {
    pristine.set(
      codec,
      (async () => {
        const dir = tmp(t, `sdb-pristine-${codec}-`)
        const src = path.join(dir, 'card.img')
        writeFileSync(src, mixedContent(codec === 'zstd' ? 40 * 2 ** 20 : 1536 * 1024 + 999))
        const r = await image(dir, src, codec === 'zstd' ? { codec, level: 3, chunkSize: 16 * 2 ** 20 } : {})
        return { src, file: r.file, manifestFile: r.manifestFile }
      })(),
    )
  }
  return pristine.get(codec)!
}

async function setup(t: Test, codec: 'gzip' | 'zstd' = 'gzip') {
  const p = await made(codec)
  const dir = tmp(t)
  const file = path.join(dir, path.basename(p.file))
  copyFileSync(p.file, file)
  copyFileSync(p.manifestFile, `${file}.manifest.json`)
  const m: ImageManifest = JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8'))
  return { dir, src: p.src, file, manifestFile: `${file}.manifest.json`, m }
}

const verify = (file: string) => verifyImage(file, { workers: 2 })
const flip = (file: string, at: number) => {
  const b = readFileSync(file)
  b[at]! ^= 0x10
  writeFileSync(file, b)
}

test("an intact image passes, and the root digest it proves is the source card's", async (t) => {
  const { src, file, m } = await setup(t)
  const r = await verify(file)
  const want = await v2Digests(src, m.members)
  t.equal(r.root, want.root)
  const zeros = (n: number) => createHash('sha256').update(Buffer.alloc(n)).digest('hex')
  t.same(
    m.members.map((e) => (e[4] === 0 ? zeros(e[2]) : e[4])),
    want.digests,
    'each member carries the SHA-256 of its range of the card (0: zeros)',
  )
  t.equal(r.sha256, undefined, 'no whole-image SHA-256 unless asked for')
  t.equal(r.members, m.members.length)
  t.equal(sh(`gzip -t '${file}' && echo ok`).trim(), 'ok', 'system gzip agrees')
})

test("a flipped bit inside a member's deflate data is named by member and offset", async (t) => {
  const { file, m } = await setup(t)
  const [off, len] = m.members[5]!
  flip(file, off + Math.floor(len / 2))
  const err = await verify(file).catch((e: unknown) => e)
  t.match(err, { name: 'BackupCorruptError', code: 'SDB_BACKUP_CORRUPT', file, where: { member: 5, offset: off } })
  t.match(
    (err as Error).message,
    new RegExp(
      `^${file} is corrupt: member 5 at byte ${off}: (deflate data: .*|CRC-32 0x[0-9a-f]{8} of the data differs from the trailer's 0x[0-9a-f]{8}|.*bytes decoded.*)$`,
    ),
  )
  t.ok(err instanceof BackupCorruptError)
})

test('a flipped bit in a header or a trailer is corruption too', async (t) => {
  for (const [where, pick] of [
    ['magic', (o: number) => o],
    ['CRC in the trailer', (o: number, l: number) => o + l - 6],
    ['length in the trailer', (o: number, l: number) => o + l - 2],
  ] as const) {
    const { file, m } = await setup(t)
    const [off, len] = m.members[2]!
    flip(file, pick(off, len))
    await t.rejects(verify(file), { code: 'SDB_BACKUP_CORRUPT', where: { member: 2 } }, where)
  }
})

test('truncation inside a member', async (t) => {
  const { file, m } = await setup(t)
  const [off] = m.members[4]!
  truncateSync(file, off + 100)
  await t.rejects(verify(file), new TruncatedMidMemberError(file, off + 100, m.compressed.bytes, 4))
})

test('truncation exactly at a member boundary, which gzip -t accepts', async (t) => {
  const { file, m } = await setup(t)
  const [off] = m.members[4]!
  truncateSync(file, off)
  t.equal(sh(`gzip -t '${file}' && echo passes`).trim(), 'passes', 'gzip -t cannot see it')
  const err = await verify(file).catch((e: unknown) => e)
  t.same(err, new TruncatedAtBoundaryError(file, off, m.compressed.bytes, 4, m.members.length))
  t.match((err as Error).message, /gzip -t accepts such a file/)
})

test('trailing data after the last member', async (t) => {
  const { file, m } = await setup(t)
  appendFileSync(file, 'garbage')
  await t.rejects(verify(file), new TrailingDataError(file, m.compressed.bytes + 7, m.compressed.bytes))
})

test('a missing manifest', async (t) => {
  const { file, manifestFile } = await setup(t)
  sh(`rm '${manifestFile}'`)
  await t.rejects(verify(file), new ManifestMissingError(file, manifestFile))
})

test('a manifest that describes another image, is not JSON, or has a broken index', async (t) => {
  const { dir, file, manifestFile, m } = await setup(t)
  const other = path.join(dir, 'other.img.gz')
  copyFileSync(file, other)
  copyFileSync(manifestFile, `${other}.manifest.json`)
  await t.rejects(
    verify(other),
    new ManifestMismatchError(
      other,
      `${other}.manifest.json`,
      `it belongs to ${m.image}; a renamed backup needs its original name back, since the manifest names what it describes`,
    ),
  )
  writeFileSync(manifestFile, '{"format": "sd-backup-image", ')
  await t.rejects(verify(file), { code: 'SDB_MANIFEST_MISMATCH', reason: /^not valid JSON/ })
  writeFileSync(manifestFile, JSON.stringify({ format: 'something-else' }))
  await t.rejects(verify(file), { code: 'SDB_MANIFEST_MISMATCH', reason: 'it is not an sd-backup-image manifest' })
  writeFileSync(manifestFile, JSON.stringify({ ...m, members: undefined }))
  await t.rejects(verify(file), { code: 'SDB_MANIFEST_MISMATCH', reason: 'it has no member index' })
  const gap = m.members.map((e, i) => (i === 3 ? [e[0] + 1, e[1], e[2], e[3], e[4]] : e))
  writeFileSync(manifestFile, JSON.stringify({ ...m, members: gap }))
  await t.rejects(verify(file), {
    code: 'SDB_MANIFEST_MISMATCH',
    reason: /^member 3 starts at byte \d+, the one before it ends at \d+$/,
  })
  writeFileSync(manifestFile, JSON.stringify({ ...m, raw: { ...m.raw, bytes: m.raw.bytes + 1 } }))
  await t.rejects(verify(file), { code: 'SDB_MANIFEST_MISMATCH', reason: /^its members add up to/ })
})

test('malformed manifests are refused before anything is sized from them (exit 18, never 1)', async (t) => {
  const { dir, file, manifestFile, m } = await setup(t)
  const member = (i: number, f: (e: number[]) => unknown) => ({
    ...m,
    members: m.members.map((e, k) => (k === i ? f([...e] as number[]) : e)),
  })
  const cases: Array<[string, unknown, RegExp]> = [
    ['a negative raw length', member(2, (e) => [e[0], e[1], -5, e[3], e[4]]), /member 2 decodes to -5 bytes/],
    [
      'a fractional compressed length',
      member(2, (e) => [e[0], e[1]! + 0.5, e[2], e[3], e[4]]),
      /member 2 has a compressed length of/,
    ],
    [
      'a compressed length of 2^40',
      member(0, (e) => [e[0], 2 ** 40, e[2], e[3], e[4]]),
      /member 0 has a compressed length of 1099511627776/,
    ],
    [
      'a raw length above the chunk size',
      member(1, (e) => [e[0], e[1], 2 ** 30, e[3], e[4]]),
      /member 1 decodes to 1073741824 bytes, not 1 to the chunk size/,
    ],
    ['a null member', member(1, () => null), /member 1 is not \[offset, compressed, raw, crc32, sha256\]/],
    ['a member of three fields', member(1, (e) => e.slice(0, 3)), /member 1 is not/],
    ['no CRC', member(1, (e) => [e[0], e[1], e[2], 'x', e[4]]), /member 1 has no valid CRC-32/],
    ['no raw section', { ...m, raw: undefined }, /raw size or SHA-256/],
    ['no compressed section', { ...m, compressed: null }, /compressed size, codec or chunk size/],
    ['an unknown codec', { ...m, compressed: { ...m.compressed, codec: 'lz4' } }, /codec/],
    [
      'a member without its SHA-256',
      member(1, (e) => [e[0], e[1], e[2], e[3], 'nothex']),
      /member 1 has no valid SHA-256/,
    ],
    [
      'a million members for a small image',
      { ...m, members: Array.from({ length: 100000 }, (_, i) => [i, 1, 1, 0, 0]) },
      /members are more than/,
    ],
    ['format version 9', { ...m, formatVersion: 9 }, /format version 9 is not understood/],
  ]
  for (const [what, bad, reason] of cases) {
    writeFileSync(manifestFile, JSON.stringify(bad))
    await t.rejects(verify(file), { code: 'SDB_MANIFEST_MISMATCH', reason }, what)
    const cli = await runCli(['verify', file])
    t.equal(cli.code, 18, `${what}: verify exits 18`)
    const out = await runCli([
      'restore',
      file,
      '--output',
      path.join(dir, `out-${cases.indexOf([what, bad, reason] as never)}.img`),
    ])
    t.equal(out.code, 18, `${what}: restore exits 18`)
  }
})

test('members that all decode but a SHA-256 that differs: the member, the root, the whole image', async (t) => {
  const { file, manifestFile, m } = await setup(t)
  writeFileSync(
    manifestFile,
    JSON.stringify({
      ...m,
      members: m.members.map((e, i) => (i === 2 ? [e[0], e[1], e[2], e[3], 'f'.repeat(64)] : e)),
    }),
  )
  await t.rejects(verify(file), {
    code: 'SDB_BACKUP_CORRUPT',
    where: { member: 2 },
    message: /member 2 at byte \d+ decodes to SHA-256 [0-9a-f]{64}, the manifest has f{64}/,
  })
  writeFileSync(manifestFile, JSON.stringify({ ...m, raw: { ...m.raw, root: '0'.repeat(64) } }))
  await t.rejects(verify(file), {
    code: 'SDB_BACKUP_CORRUPT',
    message: /the decoded image \(\d+ bytes, root [0-9a-f]{64}\) differs from the manifest's \(\d+ bytes, root 0{64}\)/,
  })
  writeFileSync(manifestFile, JSON.stringify({ ...m, raw: { ...m.raw, sha256: '0'.repeat(64) } }))
  await t.rejects(
    verify(file),
    { code: 'SDB_BACKUP_CORRUPT', message: /SHA-256 [0-9a-f]{64}, root/ },
    'a whole-image SHA-256, when recorded, is checked too',
  )
  t.ok(await readImageManifest(file))
})

test("a CRC in the manifest that differs from the member's own", async (t) => {
  const { file, manifestFile, m } = await setup(t)
  writeFileSync(
    manifestFile,
    JSON.stringify({
      ...m,
      members: m.members.map((e, i) => (i === 1 ? [e[0], e[1], e[2], (e[3] + 1) >>> 0, e[4]] : e)),
    }),
  )
  await t.rejects(verify(file), {
    code: 'SDB_BACKUP_CORRUPT',
    where: { member: 1 },
    message: /CRC-32 0x[0-9a-f]{8} differs from the manifest's/,
  })
})

test('zstd images verify too, and a flipped bit in a frame is found', async (t) => {
  const { src, file, m } = await setup(t, 'zstd')
  t.equal((await verify(file)).root, (await v2Digests(src, m.members)).root)
  flip(file, m.members[1]![0] + 5000)
  await t.rejects(verify(file), { code: 'SDB_BACKUP_CORRUPT', where: { member: 1 } })
})

test('a decompression worker that dies fails verification cleanly', async (t) => {
  const { file } = await setup(t)
  await t.rejects(verifyImage(file, { workers: 2, crashOnMember: 3 }), {
    code: 'SDB_WORKER_CRASHED',
    role: 'decompression',
    message: /^decompression worker \d failed: exited with code 70$/,
  })
})

test('sd-backup verify: one exit code per way an image can be wrong', async (t) => {
  const cases: Array<[string, number, (f: string, m: ImageManifest, mf: string) => void]> = [
    ['intact', 0, () => {}],
    ['manifest missing', 17, (_f, _m, mf) => sh(`rm '${mf}'`)],
    ['manifest mismatch', 18, (_f, m, mf) => writeFileSync(mf, JSON.stringify({ ...m, image: 'x.img.gz' }))],
    ['flipped bit', 19, (f, m) => flip(f, m.members[3]![0] + 200)],
    ['truncated mid-member', 20, (f, m) => truncateSync(f, m.members[3]![0] + 200)],
    ['truncated at a boundary', 21, (f, m) => truncateSync(f, m.members[3]![0])],
    ['trailing data', 22, (f) => appendFileSync(f, Buffer.alloc(10))],
  ]
  for (const [name, code, damage] of cases) {
    const { file, m, manifestFile } = await setup(t)
    damage(file, m, manifestFile)
    const r = await runCli(['verify', file, '--workers', '2'])
    t.equal(r.code, code, name)
    if (code === 0)
      t.match(
        r.stdout,
        `OK image ${file}: ${m.members.length} members decode with their CRC-32, length and SHA-256; size and root digest as recorded;`,
      )
    else t.match(r.stderr, /^sd-backup verify: /)
  }
})

test('sd-backup verify --json, and the usage errors', async (t) => {
  const { file, m } = await setup(t)
  const r = await runCli(['verify', file, '--json'])
  t.equal(r.code, 0)
  t.match(JSON.parse(r.stdout), { result: 'ok', kind: 'image', path: file, rawBytes: m.raw.bytes, root: m.raw.root })
  t.equal((await runCli(['verify'])).code, 2)
  t.equal((await runCli(['verify', path.join(path.dirname(file), 'nope.img.gz')])).code, 3)
  t.match(await runCli(['verify', m.image.replace(/.*/, '/etc/hostname')]), {
    code: 2,
    stderr: /is not a backup sd-backup writes/,
  })
  t.match(
    (await runCli(['verify', '--help'])).stdout,
    /Exit codes:\n(.|\n)*21  verify\/restore: the image is truncated at a member boundary/,
  )
})
