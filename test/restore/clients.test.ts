import t from 'tap'
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, openSync, readSync, closeSync, statSync } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import type { ImageManifest } from '../../lib/dest/image-manifest.js'
import { bmapPathFor } from '../../lib/dest/layout.js'
import { buildCard } from '../helpers/card.js'
import { image, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { missingTools, withTools } from '../helpers/tools.js'

// The tools Pi owners restore with, each given the image the way it is used in the
// wild: Raspberry Pi Imager (libarchive: bsdcat), balenaEtcher (Node's gunzip stream),
// `gunzip | dd`, busybox, 7-Zip, python, bmaptool. Each output must be the manifest's bytes.
const test = withTools(t, 'sfdisk', 'mkfs.vfat', 'mkfs.ext4', 'mcopy', 'debugfs')

// The output is the image the manifest describes: its length, and every member's SHA-256.
function sameAsManifest(t: Test, file: string, m: ImageManifest, label: string): void {
  t.equal(statSync(file).size, m.raw.bytes, `${label}: ${m.raw.bytes} bytes`)
  const fd = openSync(file, 'r')
  let at = 0
  let bad = -1
  for (const [i, member] of m.members.entries()) {
    const [, , rawLength, , sha256] = member
    const buf = Buffer.alloc(rawLength)
    readSync(fd, buf, 0, rawLength, at)
    // 0: a member of zeros (manifest version 2).
    const same = sha256 === 0 ? buf.every((b) => b === 0) : createHash('sha256').update(buf).digest('hex') === sha256
    if (!same && bad < 0) bad = i
    at += rawLength
  }
  closeSync(fd)
  t.equal(bad, -1, `${label}: every member's SHA-256 is the manifest's`)
}

async function card(t: Test, codec: 'gzip' | 'zstd') {
  const dir = tmp(t)
  const built = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
      { fs: 'ext4', mib: 48 },
    ],
    tailMib: 4,
  })
  const r = await image(dir, built.file, codec === 'zstd' ? { codec, chunkSize: 16 * 2 ** 20 } : { codec })
  return { dir, file: r.file, m: r.manifest }
}

const GZIP_CLIENTS: Array<[label: string, tool: string, cmd: (img: string, out: string) => string]> = [
  ['gzip -dc', 'gzip', (img, out) => `gzip -dc '${img}' > '${out}'`],
  ['pigz -dc', 'pigz', (img, out) => `pigz -dc '${img}' > '${out}'`],
  ['zcat', 'zcat', (img, out) => `zcat '${img}' > '${out}'`],
  [
    'python3 gzip',
    'python3',
    (img, out) =>
      `python3 -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), sys.stdout.buffer, 1 << 20)' '${img}' > '${out}'`,
  ],
  ['bsdcat (libarchive, as Raspberry Pi Imager reads it)', 'bsdcat', (img, out) => `bsdcat '${img}' > '${out}'`],
  ['busybox gunzip', 'busybox', (img, out) => `busybox gunzip -c '${img}' > '${out}'`],
  ['7z x -so', '7z', (img, out) => `7z x -so '${img}' > '${out}'`],
  ['bmaptool copy', 'bmaptool', (img, out) => `bmaptool -q copy --bmap '${bmapPathFor(img)}' '${img}' '${out}'`],
]

test('every gzip client Pi owners use reads a .img.gz as the manifest says', async (t) => {
  const { dir, file, m } = await card(t, 'gzip')
  for (const [label, tool, cmd] of GZIP_CLIENTS) {
    const skip = missingTools(tool)
    if (skip) {
      t.test(label, { skip }, () => {})
      continue
    }
    const out = path.join(dir, 'out.img')
    sh(`rm -f '${out}' && ${cmd(file, out)}`)
    sameAsManifest(t, out, m, label)
  }
  // balenaEtcher's path: fs.createReadStream piped through zlib.createGunzip().
  const out = path.join(dir, 'etcher.img')
  await pipeline(createReadStream(file), createGunzip(), createWriteStream(out))
  sameAsManifest(t, out, m, 'Node createGunzip (as balenaEtcher reads it)')
})

test('zstd -d, bsdcat and 7z read a .img.zst as the manifest says; zstd -l knows its size first', async (t) => {
  const { dir, file, m } = await card(t, 'zstd')
  const skip = missingTools('zstd')
  if (skip) return void t.test('zstd', { skip }, () => {})
  const listed = sh(`zstd -lv '${file}'`)
  t.match(listed, new RegExp(`Decompressed Size: .*\\(${m.raw.bytes} B\\)`), 'the size an imager checks the card with')
  t.match(listed, /Check: XXH64/)
  sh(`zstd -tq '${file}'`)
  const out = path.join(dir, 'out.img')
  sh(`zstd -dqc '${file}' > '${out}'`)
  sameAsManifest(t, out, m, 'zstd -d')
  for (const [label, tool, cmd] of [
    ['bsdcat (libarchive, as Raspberry Pi Imager reads it)', 'bsdcat', `bsdcat '${file}'`],
    ['7z x -so', '7z', `7z x -so '${file}'`],
  ] as const) {
    const skip = missingTools(tool)
    if (skip) {
      t.test(label, { skip }, () => {})
      continue
    }
    sh(`${cmd} > '${out}'`)
    sameAsManifest(t, out, m, label)
  }
})
