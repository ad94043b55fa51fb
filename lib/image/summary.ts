import { formatBytes, formatDuration } from '../util/size.js'
import type { ImageManifest } from '../dest/image-manifest.js'

// The closing line in the terms people already use for `dd | pigz`:
// "238.3 GiB in, 39.6 GiB out (83.4 % saved), 61 min 5 s, 66.6 MiB/s → PATH"
export function imageSummary(m: ImageManifest, file: string) {
  const saved = m.raw.bytes === 0 ? 0 : 100 * (1 - m.compressed.bytes / m.raw.bytes)
  const mibPerSec = m.raw.bytes / 2 ** 20 / Math.max(m.durationSeconds, 1e-3)
  const fields = {
    inputBytes: m.raw.bytes,
    outputBytes: m.compressed.bytes,
    savedPercent: Number(saved.toFixed(1)),
    durationSeconds: m.durationSeconds,
    mibPerSec: Number(mibPerSec.toFixed(1)),
    path: file,
    ...(m.raw.sha256 !== undefined ? { sha256: m.raw.sha256 } : {}),
    ...(m.raw.root !== undefined ? { root: m.raw.root } : {}),
    verified: m.verification?.result ?? 'skipped',
    readBytes: m.layout?.usedBytes ?? m.raw.bytes,
  }
  const text =
    `image done: ${formatBytes(m.raw.bytes)} ` +
    `in${m.layout ? ` (${formatBytes(m.layout.usedBytes)} read, the rest free)` : ''}, ` +
    `${formatBytes(m.compressed.bytes)} out ` +
    `(${saved.toFixed(1)} % saved), ${formatDuration(m.durationSeconds)}, ${mibPerSec.toFixed(1)} MiB/s → ${file}` +
    (fields.verified === 'ok'
      ? `; verified in ${formatDuration(m.verification!.seconds)}`
      : '; NOT verified (verify = false)')
  return { text, fields }
}
