import t from 'tap'
import type { Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { deflateRawSync } from 'node:zlib'
import { pino } from 'pino'
import { MEMBER_FIELDS_V1, type ImageManifest } from '../../lib/dest/image-manifest.js'
import { runCleanup } from '../../lib/retention/run-cleanup.js'
import { DEFAULT_POLICY } from '../../lib/retention/apply-policy.js'
import { verifyImage } from '../../lib/verify/verify-image.js'
import { runCli } from '../helpers/cli.js'
import { image, mixedContent, sh } from '../helpers/image.js'
import { isNfs, NFS_SUPER_MAGIC } from '../../lib/system/fs-type.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'gzip')

// A card of data and long runs of zeros, imaged in 64 KiB members.
async function made(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(
    src,
    Buffer.concat([
      mixedContent(512 * 1024, 3),
      Buffer.alloc(2 * 2 ** 20),
      mixedContent(256 * 1024, 4),
      Buffer.alloc(1024 * 1024),
    ]),
  )
  const r = await image(dir, src)
  return { dir, src, file: r.file, manifestFile: r.manifestFile, m: r.manifest }
}

test('version 2: zero members are marked 0 and checked without being decoded', async (t) => {
  const { file, m } = await made(t)
  t.equal(m.formatVersion, 2)
  const zeroAt = m.members.findIndex((e) => e[4] === 0)
  t.ok(zeroAt > 0 && m.members.filter((e) => e[4] === 0).length >= 40, 'the zero runs are zero members')
  // The decompression thread that would get that member dies: verification passes, so it never got it.
  const r = await verifyImage(file, { workers: 2, crashOnMember: zeroAt })
  t.equal(r.rawBytes, m.raw.bytes)
  const dataAt = m.members.findIndex((e) => e[4] !== 0)
  await t.rejects(
    verifyImage(file, { workers: 2, crashOnMember: dataAt }),
    { code: 'SDB_WORKER_CRASHED' },
    'a data member does go to a thread',
  )
})

test('version 2: a zero member encoded otherwise still verifies; one that holds data does not', async (t) => {
  const { file, manifestFile, m } = await made(t)
  const zeroAt = m.members.findIndex((e) => e[4] === 0)
  const [offset, length, rawLength] = m.members[zeroAt]!
  // Another encoder's zeros (level 1, a different length of deflate): the member is decoded and hashed.
  const gz = readFileSync(file)
  const body = deflateRawSync(Buffer.alloc(rawLength), { level: 1 })
  const member = Buffer.concat([
    gz.subarray(offset, offset + 10),
    body,
    gz.subarray(offset + length - 8, offset + length),
  ])
  const rebuilt = Buffer.concat([gz.subarray(0, offset), member, gz.subarray(offset + length)])
  const delta = member.length - length
  const members = m.members.map((e, i) =>
    i < zeroAt ? e : i === zeroAt ? [e[0], member.length, e[2], e[3], e[4]] : [e[0] + delta, e[1], e[2], e[3], e[4]],
  )
  writeFileSync(file, rebuilt)
  writeFileSync(
    manifestFile,
    JSON.stringify({ ...m, members, compressed: { ...m.compressed, bytes: m.compressed.bytes + delta } }),
  )
  await t.resolves(verifyImage(file, { workers: 2 }), 'zeros encoded otherwise are decoded and their digest checked')
  // A data member marked as zeros.
  const dataAt = m.members.findIndex((e) => e[4] !== 0)
  writeFileSync(
    manifestFile,
    JSON.stringify({
      ...m,
      members: members.map((e, i) => (i === dataAt ? [e[0], e[1], e[2], e[3], 0] : e)),
      compressed: { ...m.compressed, bytes: m.compressed.bytes + delta },
    }),
  )
  await t.rejects(verifyImage(file, { workers: 2 }), { code: 'SDB_BACKUP_CORRUPT', where: { member: dataAt } })
})

test('a stored version 1 image (one SHA-256 of the whole image) verifies, restores, lists and is kept by cleanup', async (t) => {
  const { dir, src, file, manifestFile, m } = await made(t)
  const whole = sh(`gzip -dc '${file}' | sha256sum`).split(' ')[0]!
  const v1 = {
    ...m,
    formatVersion: 1,
    memberFields: MEMBER_FIELDS_V1,
    members: m.members.map((e) => e.slice(0, 4)),
    raw: { bytes: m.raw.bytes, sha256: whole },
  }
  writeFileSync(manifestFile, JSON.stringify(v1))
  const v = await runCli(['verify', file])
  t.equal(v.code, 0, v.stderr)
  t.match(v.stdout, 'members decode with their CRC-32 and length; size and SHA-256 as recorded')
  const out = path.join(dir, 'restored.img')
  const r = await runCli(['restore', file, '--output', out])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, `SHA-256 ${whole} as recorded`)
  t.equal(sh(`sha256sum '${out}'`).split(' ')[0], sh(`sha256sum '${src}'`).split(' ')[0])
  const bad = { ...v1, raw: { ...v1.raw, sha256: '0'.repeat(64) } }
  writeFileSync(manifestFile, JSON.stringify(bad))
  t.equal((await runCli(['verify', file])).code, 19, 'a wrong whole-image SHA-256 is still found')
  writeFileSync(manifestFile, JSON.stringify(v1))
  const nas = path.join(dir, 'nas')
  const list = await runCli(['list', '--dest', nas, '--json'])
  t.equal(list.code, 0)
  t.match(list.stdout, (m as ImageManifest).image)
  const c = await runCleanup(
    { dest: nas, mount: undefined, station: 'zolder', policy: DEFAULT_POLICY, dryRun: true },
    { log: pino({ level: 'silent' }), now: new Date(Date.now() + 3600e3), host: 'x', alive: () => false },
  )
  t.match(c.decisions, [{ action: 'keep', reason: /newest (verified|complete) image backup/ }])
})

test('the read-back says where it came from; whole-sha256 adds the whole image SHA-256', async (t) => {
  const { m, src, dir } = await made(t)
  t.equal(m.verification?.readBack, 'page-cache', 'not NFS here: through the page cache')
  t.equal(m.raw.sha256, undefined)
  t.equal(await isNfs(dir, async () => ({ type: NFS_SUPER_MAGIC })), true, 'on NFS the read-back uses O_DIRECT')
  t.equal(await isNfs(dir), false)
  const nas = path.join(dir, 'nas2')
  const r = await runCli([
    'image',
    '--device',
    src,
    '--dest',
    nas,
    '--station',
    'zolder',
    '--whole-sha256',
    '--workers',
    '1',
    '--chunk-size',
    '64K',
  ])
  t.equal(r.code, 0, r.stderr)
  const images = path.join(nas, 'zolder', 'images')
  const name = sh(`ls '${images}' | grep 'img.gz$'`).trim()
  const m2 = JSON.parse(readFileSync(path.join(images, `${name}.manifest.json`), 'utf8')) as ImageManifest
  t.equal(m2.raw.sha256, sh(`sha256sum '${src}'`).split(' ')[0])
  t.equal(m2.raw.root, m.raw.root, 'the same data, the same root digest')
})
