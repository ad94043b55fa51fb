import type { Extent } from '../util/extent.js'

export interface ExtUsage {
  readonly blockSize: number
  readonly blockCount: number
  /** Byte ranges of the filesystem its block bitmaps mark in use, in order. */
  readonly used: Extent[]
}

// What `dumpe2fs FILE` prints of the block bitmaps ("Free blocks: 1-5, 9"), turned
// into the byte ranges in use: what must be written to a card, like a .bmap's ranges.
export function extUsedRanges(dumpe2fs: string): ExtUsage {
  const num = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(dumpe2fs)
    if (!m) throw new Error(`dumpe2fs printed no "${name}"`)
    return Number(m[1])
  }
  const blockSize = num('Block size')
  const blockCount = num('Block count')
  const free: Array<[number, number]> = []
  for (const line of dumpe2fs.matchAll(/^\s+Free blocks: (.*)$/gm)) {
    for (const r of line[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [a, b] = r.split('-').map(Number) as [number, number | undefined]
      if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) throw new Error(`dumpe2fs: "${r}"`)
      free.push([a, (b ?? a) + 1])
    }
  }
  if (free.length === 0 && !/^Group \d+:/m.test(dumpe2fs)) throw new Error('dumpe2fs printed no groups')
  free.sort((x, y) => x[0] - y[0])
  const used: Extent[] = []
  let at = 0
  for (const [a, b] of free) {
    if (a > at) used.push({ start: at * blockSize, end: a * blockSize })
    at = Math.max(at, b)
  }
  if (at < blockCount) used.push({ start: at * blockSize, end: blockCount * blockSize })
  return { blockSize, blockCount, used }
}
