import { readFileSync } from 'node:fs'
import path from 'node:path'

// One line of /proc/self/mountinfo, the kernel's own list of what is mounted where.
export interface MountEntry {
  readonly major: number
  readonly minor: number
  readonly mountPoint: string
  readonly fsType: string
  readonly source: string
  /** The filesystem's own options (an overlay's lowerdir=...). */
  readonly superOptions?: string
}

// Octal escapes (\040 for space) as the kernel writes them in mountinfo.
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
}

// Parses mountinfo text; later lines shadow earlier ones at the same mount point.
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const [left, right] = line.split(' - ')
    const f = left?.split(' ') ?? []
    const r = right?.split(' ') ?? []
    const [maj, min] = (f[2] ?? '').split(':')
    if (f[4] === undefined || maj === undefined || min === undefined) continue
    out.push({
      major: Number(maj),
      minor: Number(min),
      mountPoint: unescape(f[4]),
      fsType: r[0] ?? '',
      source: unescape(r[1] ?? ''),
      superOptions: r[2] ?? '',
    })
  }
  return out
}

// Reads the current process's mount table.
export function readMountinfo(file = '/proc/self/mountinfo'): MountEntry[] {
  return parseMountinfo(readFileSync(file, 'utf8'))
}

// The mount that holds `absPath` (already resolved with realpath): the longest mount
// point that is a prefix of it, the last one listed when several share that point.
export function mountOf(entries: readonly MountEntry[], absPath: string): MountEntry | undefined {
  let best: MountEntry | undefined
  for (const e of entries) {
    if (!isInside(absPath, e.mountPoint)) continue
    if (!best || e.mountPoint.length >= best.mountPoint.length) best = e
  }
  return best
}

// True when `child` is `parent` or lies below it (both absolute and normalised).
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}
