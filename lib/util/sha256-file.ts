import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'

// SHA-256 of a whole file, up to 4 MiB at a time. `noFollow`: a symlink in the last
// component is refused (ELOOP), never followed.
export async function sha256OfFile(file: string | Buffer, opts: { noFollow?: boolean } = {}): Promise<string> {
  const h = await open(file, opts.noFollow ? constants.O_RDONLY | constants.O_NOFOLLOW : constants.O_RDONLY)
  const hash = createHash('sha256')
  try {
    // No larger than the file: a 4 MiB buffer per small file, many at once, costs
    // more than the hashing (bench/files.ts).
    const buf = Buffer.allocUnsafe(Math.min(4 * 2 ** 20, (await h.stat()).size + 1))
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
