import { createHash } from 'node:crypto'
import { constants, type Stats } from 'node:fs'
import { open } from 'node:fs/promises'

// Where a copy goes: opened only once the source is known to be the file that was
// listed, so a swapped file leaves nothing behind.
export interface CopySink {
  write(buf: Buffer): Promise<void>
  close(): Promise<void>
}

export type CopyResult =
  | {
      readonly kind: 'copied'
      /** SHA-256 and length of the bytes actually stored. */
      readonly sha256: string
      readonly size: number
      /** The descriptor's metadata when the copy began. */
      readonly stat: Stats
      /** False when the size or mtime moved while it was read. */
      readonly stable: boolean
    }
  | { readonly kind: 'swapped'; readonly what: string }

const BUF = 1024 * 1024

// Copies one regular file as it is read. It is opened with O_NOFOLLOW (a file
// swapped for a symlink is not followed) and O_NONBLOCK (one swapped for a FIFO
// does not hang the job), and the descriptor's fstat must be the file that lstat
// listed (device, inode, regular): otherwise it is 'swapped' and nothing is read.
export async function copyStable(
  from: Buffer,
  listed: Stats,
  openSink: () => Promise<CopySink>,
  signal?: AbortSignal,
): Promise<CopyResult> {
  let src
  try {
    src = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { kind: 'swapped', what: 'it became a symlink' }
    throw err
  }
  try {
    const before = await src.stat()
    if (!before.isFile()) return { kind: 'swapped', what: 'it is no longer a regular file' }
    if (before.dev !== listed.dev || before.ino !== listed.ino)
      return { kind: 'swapped', what: 'another file took its name' }
    const sink = await openSink()
    const hash = createHash('sha256')
    // No larger than the file: most files are small, and many are copied at once (bench/files.ts).
    const buf = Buffer.allocUnsafe(Math.min(BUF, before.size + 1))
    let size = 0
    try {
      for (;;) {
        signal?.throwIfAborted()
        const { bytesRead } = await src.read(buf, 0, buf.length, size)
        if (bytesRead === 0) break
        const piece = buf.subarray(0, bytesRead)
        hash.update(piece)
        await sink.write(piece)
        size += bytesRead
      }
    } finally {
      await sink.close()
    }
    const after = await src.stat()
    const stable = after.size === size && before.size === size && after.mtimeMs === before.mtimeMs
    return { kind: 'copied', sha256: hash.digest('hex'), size, stat: before, stable }
  } finally {
    await src.close()
  }
}
