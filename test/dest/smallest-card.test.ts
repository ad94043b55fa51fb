import t from 'tap'
import type { ImageManifest } from '../../lib/dest/image-manifest.js'
import { layoutProblem, smallestCard } from '../../lib/dest/smallest-card.js'

const MiB = 2 ** 20
const part = (number: number, start: number, size: number, fs: string | null, readBytes = size) => ({
  number,
  start,
  size,
  fs,
  readBytes,
  type: '83',
  method: 'used',
})
const manifest = (partitions: unknown[], scheme: unknown = 'mbr', bytes: unknown = 1024 * MiB) =>
  ({ raw: { bytes }, layout: { scheme, partitions, usedBytes: 0, minCardBytes: 0 } }) as unknown as ImageManifest

t.test(
  'smallest card: the root start, its data, the margin and GPT tail; none for a non-ext last partition',
  async (t) => {
    const boot = part(1, MiB, 32 * MiB, 'vfat (FAT16)')
    t.equal(
      smallestCard(manifest([boot, part(2, 33 * MiB, 990 * MiB, 'ext4', 100 * MiB)])),
      33 * MiB + 100 * MiB + 256 * MiB,
    )
    t.equal(
      smallestCard(manifest([boot, part(2, 33 * MiB, 990 * MiB, 'ext4', (4000 * MiB) / 5)], 'gpt', 1100 * MiB)),
      33 * MiB + 800 * MiB + 256 * MiB + MiB,
    )
    t.equal(
      smallestCard(manifest([part(1, MiB, 900 * MiB, 'ext4'), part(2, 901 * MiB, 32 * MiB, 'vfat (FAT16)')])),
      undefined,
    )
  },
)

// What list and restore --shrink read from a manifest another machine may have written.
t.test('a hostile layout is named, never used', async (t) => {
  const ok = part(2, 33 * MiB, 990 * MiB, 'ext4')
  const cases: Array<[string, ImageManifest, RegExp | undefined]> = [
    ['sound', manifest([ok]), undefined],
    ['no size', manifest([ok], 'mbr', '1G'), /no image size/],
    ['unknown scheme', manifest([ok], 'apm'), /no partition scheme/],
    ['no list', manifest('x' as unknown as unknown[]), /no partition list/],
    ['null entry', manifest([null]), /without its number/],
    ['string start', manifest([{ ...ok, start: '0' }]), /without its number/],
    ['fs not text', manifest([{ ...ok, fs: 7 }]), /not text/],
    ['past the end', manifest([{ ...ok, start: 2 ** 40 }]), /inside the image/],
    ['half a sector', manifest([{ ...ok, size: ok.size - 1 }]), /inside the image/],
    ['more read than held', manifest([{ ...ok, readBytes: ok.size + 512 }]), /inside the image/],
  ]
  for (const [name, m, want] of cases) {
    const p = layoutProblem(m)
    if (want) t.match(p, want, name)
    else t.equal(p, undefined, name)
  }
})
