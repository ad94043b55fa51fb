import t from 'tap'
import type { Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { BmapUnusableError } from '../../lib/errors.js'
import type { ImageManifest } from '../../lib/dest/image-manifest.js'
import { readImageManifest } from '../../lib/dest/read-image-manifest.js'
import { readBmap } from '../../lib/restore/read-bmap.js'
import { buildCard, checkMapped, rangeSha } from '../helpers/card.js'
import { runCli } from '../helpers/cli.js'
import { image, sh, v2Digests } from '../helpers/image.js'
import { loopDevice, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'debugfs', 'mcopy', 'mkfs.ext4', 'mkfs.vfat', 'sfdisk')

const MiB = 2 ** 20

async function usedImage(t: Test) {
  const dir = tmp(t)
  const card = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
      { fs: 'ext4', mib: 32, mkfs: ['-b', '4096'] },
    ],
  })
  const r = await image(dir, card.file, { level: 1 })
  return { dir, card, file: r.file, manifest: r.manifest }
}

test('restore --bmap writes only the mapped blocks onto a card and reads them back', async (t) => {
  if (!needsRoot(t)) return
  const { dir, card, file, manifest } = await usedImage(t)
  const targetFile = path.join(dir, 'target.img')
  sh(`head -c ${card.size + 4 * MiB} /dev/urandom > '${targetFile}'`)
  const before = readFileSync(targetFile)
  const dev = loopDevice(t, targetFile)
  const r = await runCli(['restore', file, '--device', dev, '--bmap', '--verify', '--yes', '--workers', '2'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /written: the blocks the \.bmap maps\); root digest [0-9a-f]{64}, read back and compared/)
  sh(`sync`)
  const after = path.join(dir, 'after.img')
  sh(`head -c ${card.size} ${dev} > '${after}'`)
  await checkMapped(t, card, after, dir, 'restore --bmap')
  const ranges = await readBmap(file, manifest)
  const gap = { start: ranges[1]!.end, end: ranges[2]!.start }
  t.ok(gap.end > gap.start, 'there is free space between mapped ranges')
  t.equal(
    await rangeSha(after, gap.start, gap.end),
    sha(before.subarray(gap.start, gap.end)),
    'free space on the card was left as it was',
  )
})

function sha(b: Buffer): string {
  return sh('sha256sum', { input: b }).split(' ')[0]!
}

// The manifest as if it had recorded the .bmap now beside the image: to reach the checks after that one.
function recording(manifest: ImageManifest, bmap: string): ImageManifest {
  return {
    ...manifest,
    layout: { ...manifest.layout!, bmap: { ...manifest.layout!.bmap, sha256: sha(readFileSync(bmap)) } },
  }
}

test('restore --bmap refuses a missing, damaged or foreign .bmap before touching a device', async (t) => {
  const { dir, file, manifest } = await usedImage(t)
  const nowhere = path.join(dir, 'no-such-device')
  const bmap = `${file}.bmap`
  const text = readFileSync(bmap, 'utf8')
  t.equal((await readBmap(file, manifest)).length > 2, true)
  const damaged = text.replace(/<Range chksum="([0-9a-f])/, (_, c: string) => `<Range chksum="${c === 'a' ? 'b' : 'a'}`)
  writeFileSync(bmap, damaged)
  let r = await runCli(['restore', file, '--device', nowhere, '--bmap', '--yes'])
  t.equal(r.code, 18)
  t.match(r.stderr, /its checksum does not match its content \(damaged\)/)
  await t.rejects(
    readBmap(file, manifest),
    new BmapUnusableError(file, bmap, 'its checksum does not match its content (damaged)'),
  )
  // A self-consistent .bmap that is not the one written with this image.
  const other = text
    .replace(/<ImageSize> \d+ <\/ImageSize>/, '<ImageSize> 4096 </ImageSize>')
    .replace(/<BmapFileChecksum> [0-9a-f]{64} /, `<BmapFileChecksum> ${'0'.repeat(64)} `)
  writeFileSync(bmap, other.replace('0'.repeat(64), sha(Buffer.from(other))))
  await t.rejects(readBmap(file, manifest), {
    code: 'SDB_BMAP_UNUSABLE',
    reason: 'it is not the .bmap the manifest recorded',
  })
  await t.rejects(readBmap(file, recording(manifest, bmap)), {
    code: 'SDB_BMAP_UNUSABLE',
    reason: `it describes an image of 4096 bytes, the manifest ${manifest.raw.bytes}`,
  })
  await t.rejects(
    readBmap(file, { ...manifest, mode: 'full', layout: undefined }),
    { code: 'SDB_BMAP_UNUSABLE', reason: 'the manifest records no .bmap (a full image): restore without --bmap' },
    'a full image takes no .bmap, however valid',
  )
  const noBlock = text
    .replace(/<BlockSize> \d+ <\/BlockSize>/, '<BlockSize> 0 </BlockSize>')
    .replace(/<BmapFileChecksum> [0-9a-f]{64} /, `<BmapFileChecksum> ${'0'.repeat(64)} `)
  writeFileSync(bmap, noBlock.replace('0'.repeat(64), sha(Buffer.from(noBlock))))
  await t.rejects(readBmap(file, recording(manifest, bmap)), {
    code: 'SDB_BMAP_UNUSABLE',
    reason: 'it has no block size',
  })
  writeFileSync(bmap, text.replace('<ChecksumType> sha256', '<ChecksumType> md5'))
  await t.rejects(readBmap(file, manifest), { code: 'SDB_BMAP_UNUSABLE', reason: 'it has no SHA-256 file checksum' })
  sh(`rm '${bmap}'`)
  r = await runCli(['restore', file, '--device', nowhere, '--bmap', '--yes'])
  t.equal(r.code, 18)
  t.match(r.stderr, /does not exist \(only used-block images have one; restore without --bmap\)/)
  t.same(await readImageManifest(file), manifest, 'the image itself is untouched')
})

test('read-bmap: ranges out of order are refused', async (t) => {
  const { file, manifest } = await usedImage(t)
  const text = readFileSync(`${file}.bmap`, 'utf8')
  const lines = text.split('\n')
  const i = lines.findIndex((l) => l.includes('<Range'))
  ;[lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!]
  const swapped = lines.join('\n').replace(/<BmapFileChecksum> [0-9a-f]{64} /, `<BmapFileChecksum> ${'0'.repeat(64)} `)
  writeFileSync(`${file}.bmap`, swapped.replace('0'.repeat(64), sha(Buffer.from(swapped))))
  await t.rejects(readBmap(file, recording(manifest, `${file}.bmap`)), {
    code: 'SDB_BMAP_UNUSABLE',
    reason: /is out of order or past the image/,
  })
})

test('restore --output of a used-block image writes no more than the mapped ranges', async (t) => {
  const { dir, card, file, manifest } = await usedImage(t)
  const out = path.join(dir, 'restored.img')
  const r = await runCli(['restore', file, '--output', out, '--workers', '2'])
  t.equal(r.code, 0, r.stderr)
  t.equal((await v2Digests(out, manifest.members)).root, manifest.raw.root)
  t.equal(Number(sh(`stat -c %s '${out}'`)), card.size)
  const allocated = Number(sh(`stat -c %b '${out}'`)) * 512
  t.ok(
    allocated <= manifest.layout!.bmap.mappedBytes,
    `${allocated} bytes allocated, ${manifest.layout!.bmap.mappedBytes} mapped`,
  )
})
