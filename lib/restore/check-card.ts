import { open } from 'node:fs/promises'
import { errnoText, SourceUnreadableError } from '../errors.js'
import type { ImageManifest } from '../dest/image-manifest.js'
import type { Progress } from '../log/progress.js'
import { checkRanges, type RangeCheck } from '../verify/check-ranges.js'
import { readImageManifest } from '../dest/read-image-manifest.js'
import { readBmap, type MappedRange } from './read-bmap.js'

export interface CheckCardOptions {
  readonly workers: number
  readonly signal?: AbortSignal
  readonly progress?: (total: number, label: string) => Progress
}

// The ranges that prove a card holds an image: each member's digest (zeros compared,
// not hashed) for version 2, the whole image's SHA-256 for version 1.
export function imageRanges(m: ImageManifest): RangeCheck[] {
  if (m.raw.root === undefined && m.raw.sha256 !== undefined)
    return [{ start: 0, length: m.raw.bytes, sha256: m.raw.sha256, label: `bytes 0-${m.raw.bytes}` }]
  let at = 0
  return m.members.map(([, , rawLength, , digest], index) => {
    const r: RangeCheck = {
      start: at,
      length: rawLength,
      ...(digest === 0 ? {} : { sha256: String(digest) }),
      label: `member ${index} (bytes ${at}-${at + rawLength})`,
    }
    at += rawLength
    return r
  })
}

// The .bmap's mapped ranges (what the filesystems use), each with its SHA-256.
export function bmapRanges(ranges: readonly MappedRange[]): RangeCheck[] {
  return ranges.map((r) => ({
    start: r.start,
    length: r.end - r.start,
    sha256: r.sha256,
    label: `bytes ${r.start}-${r.end}`,
  }))
}

// Reads `ranges` of the device back on the worker threads, with progress.
export async function readBack(device: string, ranges: readonly RangeCheck[], opts: CheckCardOptions): Promise<void> {
  const progress = opts.progress?.(
    ranges.reduce((n, r) => n + r.length, 0),
    'read back',
  )
  progress?.start()
  try {
    await checkRanges(device, ranges, {
      workers: opts.workers,
      signal: opts.signal,
      onChecked: (n) => progress?.addRead(n),
    })
  } finally {
    progress?.stop()
  }
}

// `sd-backup verify IMAGE --device DEV`: does the card hold this image? Reads the
// card and the manifest (not the image): every member's range, or with `bmap` only
// the ranges the .bmap maps (a card written with --bmap or bmaptool keeps its old
// free space). Read only: any device or file may be checked.
export async function checkCard(
  file: string,
  device: string,
  opts: CheckCardOptions & { readonly bmap: boolean },
): Promise<{ manifest: ImageManifest; checkedBytes: number; ranges: number }> {
  const manifest = await readImageManifest(file)
  await open(device, 'r').then(
    (h) => h.close(),
    (err: unknown) => {
      throw new SourceUnreadableError(device, errnoText(err), { cause: err })
    },
  )
  const ranges = opts.bmap ? bmapRanges(await readBmap(file, manifest)) : imageRanges(manifest)
  await readBack(device, ranges, opts)
  return { manifest, checkedBytes: ranges.reduce((n, r) => n + r.length, 0), ranges: ranges.length }
}
