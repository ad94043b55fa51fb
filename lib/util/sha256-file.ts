import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'

// SHA-256 of a whole file, 4 MiB at a time. `noFollow`: a symlink in the last
// component is refused (ELOOP), never followed.
export async function sha256OfFile(file: string | Buffer, opts: { noFollow?: boolean } = {}): Promise<string> {
  const h = await open(file, opts.noFollow ? constants.O_RDONLY | constants.O_NOFOLLOW : constants.O_RDONLY)
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(4 * 2 ** 20)
  try {
    for (let at = 0; ;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, at)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
      at += bytesRead
    }
  } finally {
    await h.close()
  }
  return hash.digest('hex')
}
