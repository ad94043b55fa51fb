import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import type { Progress } from '../log/progress.js'

// SHA-256 of a file or device, of `bytes` from `start` when given (a card is larger
// than the image on it). Reads 4 MiB at a time; `progress` counts them.
// `noFollow`: a symlink in the last component is refused (ELOOP), never followed.
export async function sha256OfFile(file: string | Buffer, opts: { start?: number; bytes?: number; progress?: Progress; noFollow?: boolean } = {}): Promise<string> {
  const h = await open(file, opts.noFollow ? constants.O_RDONLY | constants.O_NOFOLLOW : constants.O_RDONLY)
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(4 * 2 ** 20)
  const start = opts.start ?? 0
  const limit = opts.bytes ?? Infinity
  opts.progress?.start()
  try {
    for (let at = 0; at < limit; ) {
      const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, limit - at), start + at)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
      opts.progress?.addRead(bytesRead)
      at += bytesRead
    }
  } finally {
    opts.progress?.stop()
    await h.close()
  }
  return hash.digest('hex')
}
