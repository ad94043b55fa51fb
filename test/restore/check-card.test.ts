import t from 'tap'
import type { Test } from 'tap'
import { copyFileSync, openSync, readFileSync, writeFileSync, writeSync, closeSync, truncateSync } from 'node:fs'
import path from 'node:path'
import { MEMBER_FIELDS_V1 } from '../../lib/dest/image-manifest.js'
import { readBmap } from '../../lib/restore/read-bmap.js'
import { restoreImageToDevice } from '../../lib/restore/restore-image.js'
import { checkRanges } from '../../lib/verify/check-ranges.js'
import { buildCard } from '../helpers/card.js'
import { runCli } from '../helpers/cli.js'
import { image, mixedContent, sh } from '../helpers/image.js'
import { loopDevice, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'bmaptool', 'debugfs', 'gzip', 'mcopy', 'mkfs.ext4', 'mkfs.vfat', 'sfdisk')

const MiB = 2 ** 20

// A card of data and runs of zeros, imaged in 64 KiB members, and a copy of it standing in for the card.
async function made(t: Test) {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(
    src,
    Buffer.concat([mixedContent(512 * 1024, 3), Buffer.alloc(2 * MiB), mixedContent(256 * 1024, 4), Buffer.alloc(MiB)]),
  )
  const r = await image(dir, src)
  const card = path.join(dir, 'restored.img')
  copyFileSync(src, card)
  return { dir, src, card, file: r.file, manifestFile: r.manifestFile, m: r.manifest }
}

function poke(file: string, at: number, byte: number): void {
  const fd = openSync(file, 'r+')
  writeSync(fd, Buffer.from([byte]), 0, 1, at)
  closeSync(fd)
}

test('verify --device: a card that holds the image passes, member by member', async (t) => {
  const { card, file, m } = await made(t)
  const r = await runCli(['verify', file, '--device', card, '--workers', '2'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, `OK card ${card} holds ${file}: ${m.members.length} members read back as recorded`)
  const j = await runCli(['verify', file, '--device', card, '--json'])
  t.match(JSON.parse(j.stdout), { result: 'ok', kind: 'card', checkedBytes: m.raw.bytes, ranges: m.members.length })
  // A card larger than the image (the usual case) is checked over the image's bytes.
  truncateSync(card, m.raw.bytes + 3 * MiB)
  t.equal((await runCli(['verify', file, '--device', card])).code, 0)
})

test('verify --device: a changed byte in data or in free space fails with the member that differs', async (t) => {
  const { card, file, m } = await made(t)
  const dataAt = 5000
  poke(card, dataAt, readFileSync(card)[dataAt]! ^ 1)
  let r = await runCli(['verify', file, '--device', card])
  t.equal(r.code, 30, r.stderr)
  t.match(
    r.stderr,
    /reading .*restored\.img member 0 \(bytes 0-65536\) back gives SHA-256 [0-9a-f]{64}, the image has SHA-256 [0-9a-f]{64}/,
  )
  poke(card, dataAt, readFileSync(path.join(path.dirname(card), 'card.img'))[dataAt]!)
  t.equal((await runCli(['verify', file, '--device', card])).code, 0, 'put back: passes again')
  // Free space: a zero member compared byte for byte, naming the first byte that is not zero.
  const zeroAt = m.members.findIndex((e) => e[4] === 0)
  const zeroStart = m.members.slice(0, zeroAt).reduce((n, e) => n + e[2], 0)
  poke(card, zeroStart + 777, 0x55)
  r = await runCli(['verify', file, '--device', card])
  t.equal(r.code, 30)
  t.match(
    r.stderr,
    `member ${zeroAt} (bytes ${zeroStart}-${zeroStart + m.members[zeroAt]![2]}) back gives a non-zero byte at ${zeroStart + 777}, the image has zeros`,
  )
})

test('verify --device: a card that ends before the image fails, saying where', async (t) => {
  const { card, file, m } = await made(t)
  truncateSync(card, m.raw.bytes - 100)
  const r = await runCli(['verify', file, '--device', card])
  t.equal(r.code, 30)
  t.match(r.stderr, `nothing readable (it ends at byte ${m.raw.bytes - 100})`)
  await t.rejects(
    checkRanges(path.join(card, 'nope'), [{ start: 0, length: 1, label: 'x' }], { workers: 1 }),
    { code: 'SDB_READBACK_MISMATCH', actual: /cannot be opened \(ENOTDIR\)/ },
    'a card that cannot be opened',
  )
  const gone = await runCli(['verify', file, '--device', path.join(card, 'nope')])
  t.equal(gone.code, 3, 'a device that cannot be read: said before anything starts')
  t.match(gone.stderr, /cannot read source .*nope/)
})

test('verify --device with a version 1 manifest checks the whole image SHA-256', async (t) => {
  const { card, file, manifestFile, m } = await made(t)
  const whole = sh(`gzip -dc '${file}' | sha256sum`).split(' ')[0]!
  writeFileSync(
    manifestFile,
    JSON.stringify({
      ...m,
      formatVersion: 1,
      memberFields: MEMBER_FIELDS_V1,
      members: m.members.map((e) => e.slice(0, 4)),
      raw: { bytes: m.raw.bytes, sha256: whole },
    }),
  )
  let r = await runCli(['verify', file, '--device', card])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, "the whole image's SHA-256 read back as recorded")
  poke(card, m.raw.bytes - 1, 9)
  r = await runCli(['verify', file, '--device', card])
  t.equal(r.code, 30)
  t.match(r.stderr, `bytes 0-${m.raw.bytes} back gives SHA-256`)
})

test('verify --device --bmap: a used-block image against a card that kept its old free space', async (t) => {
  const dir = tmp(t)
  const built = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
      { fs: 'ext4', mib: 32, mkfs: ['-b', '4096'] },
    ],
  })
  const r = await image(dir, built.file, { level: 1 })
  // The card written like bmaptool: the mapped ranges from the image, random bytes elsewhere.
  const card = path.join(dir, 'written.img')
  sh(`head -c ${built.size} /dev/urandom > '${card}'`)
  const decoded = path.join(dir, 'decoded.img')
  sh(`gzip -dc '${r.file}' > '${decoded}'`)
  const ranges = await readBmap(r.file, r.manifest)
  const from = readFileSync(decoded)
  const fd = openSync(card, 'r+')
  for (const x of ranges) writeSync(fd, from, x.start, x.end - x.start, x.start)
  closeSync(fd)
  t.equal(
    (await runCli(['verify', r.file, '--device', card])).code,
    30,
    'member by member, the free space is not zeros',
  )
  const ok = await runCli(['verify', r.file, '--device', card, '--bmap'])
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, `${ranges.length} ranges the .bmap maps read back as recorded`)
  poke(card, ranges[1]!.start + 3, from[ranges[1]!.start + 3]! ^ 0xff)
  const bad = await runCli(['verify', r.file, '--device', card, '--bmap'])
  t.equal(bad.code, 30)
  t.match(bad.stderr, `bytes ${ranges[1]!.start}-${ranges[1]!.end} back gives SHA-256`)
})

test('verify --device is for images only; --bmap needs --device', async (t) => {
  const { dir, file } = await made(t)
  t.match(await runCli(['verify', file, '--bmap']), { code: 2, stderr: /--bmap goes with --device/ })
  const db = path.join(dir, 'birds-x.db.zst')
  writeFileSync(db, 'x')
  t.match(await runCli(['verify', db, '--device', file]), {
    code: 2,
    stderr: /--device checks a card against an image; .* is not an image/,
  })
  t.match((await runCli(['verify', '--help'])).stdout, /Does a card hold an image\?/)
})

test('restore --verify reads the card back on the worker threads', async (t) => {
  if (!needsRoot(t)) return
  const { dir, file, m } = await made(t)
  const target = path.join(dir, 'target.img')
  sh(`truncate -s ${m.raw.bytes + MiB} '${target}'`)
  const dev = loopDevice(t, target)
  const r = await restoreImageToDevice(file, dev, {
    workers: 2,
    readBack: true,
    confirm: async () => true,
    env: { systemDisk: '/dev/nonexistent' },
  })
  t.equal(r.readBack, true)
  t.equal((await runCli(['verify', file, '--device', dev])).code, 0, 'the restored card holds the image')
})
