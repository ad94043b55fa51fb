import t from 'tap'
import path from 'node:path'
import { MAX_ZERO_MEMBER } from '../../lib/dest/image-manifest.js'
import { zeroRun } from '../../lib/image/read-used.js'
import { verifyImage } from '../../lib/verify/verify-image.js'
import { buildCard } from '../helpers/card.js'
import { runCli } from '../helpers/cli.js'
import { image, sh, v2Digests } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'debugfs', 'gzip', 'mcopy', 'mkfs.ext4', 'mkfs.vfat', 'sfdisk')

// Free space in long runs becomes long members of zeros, so the member index (and
// the manifest) grows with the data, not with the card.
test('a run of free space becomes one member of 64 MiB of zeros; the image still restores and verifies', async (t) => {
  const dir = tmp(t)
  const card = buildCard(dir, {
    label: 'dos',
    parts: [
      { fs: 'vfat', mib: 16, mkfs: ['-F', '16'] },
      { fs: 'ext4', mib: 40 },
    ],
    tailMib: 200,
  })
  const chunk = 256 * 1024
  const r = await image(dir, card.file, { level: 1, chunkSize: chunk, skipTail: true })
  const m = r.manifest
  const long = m.members.filter((e) => e[2] === MAX_ZERO_MEMBER)
  t.ok(long.length >= 3, `${long.length} members of 64 MiB`)
  t.ok(
    long.every((e) => e[4] === 0 && e[1] < MAX_ZERO_MEMBER / 100),
    'each marked as zeros, each under 1 % of its size compressed',
  )
  t.ok(m.members.length < card.size / chunk / 2, `${m.members.length} members for ${card.size / chunk} chunks`)
  const zeroLengths = new Set(m.members.filter((e) => e[4] === 0).map((e) => e[2]))
  t.ok(
    zeroLengths.size <= 9,
    `zero members come in a few lengths (${[...zeroLengths].join(', ')}): each is encoded once`,
  )
  const restored = path.join(dir, 'restored.img')
  sh(`gzip -dc '${r.file}' > '${restored}'`)
  t.equal((await v2Digests(restored, m.members)).root, m.raw.root, 'gzip -d gives the image the manifest describes')
  t.equal(sh(`stat -c %s '${restored}'`).trim(), String(card.size))
  const at = m.members.findIndex((e) => e[2] === MAX_ZERO_MEMBER)
  await t.resolves(verifyImage(r.file, { workers: 2, crashOnMember: at }), 'the long member is compared, not decoded')
  const out = path.join(dir, 'out.img')
  const res = await runCli(['restore', r.file, '--output', out])
  t.equal(res.code, 0, res.stderr)
  t.equal(sh(`cmp '${out}' '${restored}' && echo same`).trim(), 'same', 'restore --output gives the same bytes')
})

test('a gap of free space takes its 64 MiB members, then halving ones: few members, few lengths', async (t) => {
  const MiB = 2 ** 20
  const long = 64 * MiB
  const cases: Array<[free: number, left: number, want: number]> = [
    [0, 100 * MiB, MiB], // off the chunk grid, or nothing known free: one chunk
    [MiB, 100 * MiB, MiB],
    [2 * MiB, 100 * MiB, 2 * MiB],
    [3 * MiB, 100 * MiB, 2 * MiB],
    [63 * MiB, 100 * MiB, 32 * MiB],
    [64 * MiB, 100 * MiB, 64 * MiB],
    [500 * MiB, 100 * MiB, 64 * MiB],
    [500 * MiB, 40 * MiB, 32 * MiB], // the card's end bounds it
    [500 * MiB, MiB / 2, MiB / 2], // the card's last, short chunk
  ]
  for (const [free, left, want] of cases)
    t.equal(zeroRun(long, MiB, free, left), want, `free ${free / MiB} MiB, ${left / MiB} MiB left`)
  t.equal(zeroRun(undefined, MiB, 500 * MiB, 500 * MiB), MiB, 'no long members (chunk size not a divisor): one chunk')
  // A 127 MiB gap: one 64 MiB member and 32 + 16 + 8 + 4 + 2 + 1.
  let at = 0
  const lengths: number[] = []
  while (at < 127 * MiB) {
    const n = zeroRun(long, MiB, 127 * MiB - at, 1000 * MiB)
    lengths.push(n / MiB)
    at += n
  }
  t.same(lengths, [64, 32, 16, 8, 4, 2, 1])
})
