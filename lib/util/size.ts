import { ConfigError } from '../errors.js'

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  KB: 1000,
  KIB: 1024,
  M: 1024 ** 2,
  MB: 1000 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1000 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1000 ** 4,
  TIB: 1024 ** 4,
}

// Sizes as people write them: 4M and 4MiB are binary, 4MB is decimal (like dd and df -H).
export function parseSize(key: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  const unit = m ? UNITS[(m[2] ?? '').toUpperCase()] : undefined
  if (!m || unit === undefined) {
    throw new ConfigError(key, `'${text}' is not a size (examples: 4M, 512K, 40G, 1.5TB)`)
  }
  return Math.round(Number(m[1]) * unit)
}

// Binary units with their honest names: a "256 GB" card shows as 238.3 GiB, as in df -h.
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`
}

// 61 min 5 s / 2 h 3 min / 42 s: the shape a person reads at a glance.
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
