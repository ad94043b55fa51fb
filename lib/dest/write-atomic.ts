import { randomBytes } from 'node:crypto'
import { link, open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { BackupExistsError, DestFullError, DestNotWritableError, DestWriteError, errnoText } from '../errors.js'
import { applyDestGroup, fileMode } from './modes.js'
import { partialPathFor } from './layout.js'

const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])
const DENIED = new Set(['EACCES', 'EPERM', 'EROFS'])

// A file that appears under its final name complete or not at all, and is never
// modified afterwards: written as NAME.PID.partial, fsynced, size-checked, linked
// into place (which never replaces an existing file), then the directory is fsynced.
export class AtomicFile {
  private written = 0
  private closed = false
  private syncing: Promise<void> | undefined
  private syncError: unknown
  private nextSync: number

  private constructor(
    readonly finalPath: string,
    readonly partialPath: string,
    private readonly handle: FileHandle,
    private readonly replace: boolean,
    private readonly existsError: (path: string) => Error,
    private readonly syncEvery: number,
  ) {
    this.nextSync = syncEvery
  }

  // Creates the partial file; refuses when the final name already exists, unless
  // `replace` (status.json, the one file meant to be rewritten: readers see the old
  // or the new content, never a torn one). `existsError` names the refusal in the
  // caller's terms (a backup that exists, a restore target that exists).
  // `syncEvery` bytes (an image): flush in the background while writing, so the
  // final fsync (and an NFS server's commit) does not wait for the whole file.
  static async create(
    finalPath: string,
    {
      replace = false,
      existsError = (p: string): Error => new BackupExistsError(p),
      syncEvery = Infinity,
    }: { replace?: boolean; existsError?: (path: string) => Error; syncEvery?: number } = {},
  ): Promise<AtomicFile> {
    if (!replace) await refuseExisting(finalPath, existsError)
    // pid plus a random tag: two runs, or two jobs in one process, never share a partial.
    const partialPath = partialPathFor(finalPath, process.pid, randomBytes(3).toString('hex'))
    try {
      const handle = await open(partialPath, 'wx', fileMode())
      await applyDestGroup(partialPath)
      return new AtomicFile(finalPath, partialPath, handle, replace, existsError, syncEvery)
    } catch (err) {
      throw destError(partialPath, 0, err)
    }
  }

  get bytesWritten(): number {
    return this.written
  }

  // Appends all of `bufs` in one writev, finishing short writes piece by piece;
  // ENOSPC becomes DestFullError.
  async write(...bufs: Uint8Array[]): Promise<void> {
    try {
      let skip = (await this.handle.writev(bufs, this.written)).bytesWritten
      this.written += skip
      for (const buf of bufs) {
        let done = Math.min(skip, buf.length)
        skip -= done
        while (done < buf.length) {
          const { bytesWritten } = await this.handle.write(buf, done, buf.length - done, this.written)
          done += bytesWritten
          this.written += bytesWritten
        }
      }
    } catch (err) {
      throw destError(this.partialPath, this.written, err)
    }
    if (this.written >= this.nextSync && !this.syncing) {
      this.nextSync = this.written + this.syncEvery
      this.syncing = this.handle.datasync().then(
        () => (this.syncing = undefined),
        (err: unknown) => {
          this.syncError ??= err
          this.syncing = undefined
        },
      )
    }
  }

  // Writes `buf` at `position`, leaving what lies before it untouched: skipped
  // ranges stay holes (a sparse restored image). The file's length is the furthest end.
  async writeAt(buf: Uint8Array, position: number): Promise<void> {
    try {
      for (let done = 0; done < buf.length;) {
        done += (await this.handle.write(buf, done, buf.length - done, position + done)).bytesWritten
      }
    } catch (err) {
      throw destError(this.partialPath, this.written, err)
    }
    this.written = Math.max(this.written, position + buf.length)
  }

  // Sets the file's length: a trailing hole costs no blocks.
  async setLength(n: number): Promise<void> {
    try {
      await this.handle.truncate(n)
    } catch (err) {
      throw destError(this.partialPath, this.written, err)
    }
    this.written = n
  }

  // fsync, check the size on disk, close, link into place, fsync the directory.
  async commit(): Promise<void> {
    try {
      await this.syncing
      if (this.syncError) throw this.syncError
      await this.handle.sync()
      this.closed = true
      await this.handle.close()
      const onDisk = (await stat(this.partialPath)).size
      if (onDisk !== this.written) {
        throw new DestWriteError(this.partialPath, `size on disk ${onDisk} != ${this.written} bytes written`)
      }
    } catch (err) {
      throw err instanceof DestWriteError ? err : destError(this.partialPath, this.written, err)
    }
    await (this.replace
      ? replaceWith(this.partialPath, this.finalPath)
      : publish(this.partialPath, this.finalPath, this.existsError))
    await fsyncDir(path.dirname(this.finalPath))
  }

  // Removes the partial file; used on every failure path, so it never throws.
  async abort(): Promise<void> {
    await this.syncing
    if (!this.closed) {
      this.closed = true
      await this.handle.close().catch(() => {})
    }
    await rm(this.partialPath, { force: true }).catch(() => {})
  }
}

// Writes a small file (a manifest; status.json with `replace`) with the same guarantees.
export async function writeFileAtomic(
  finalPath: string,
  data: string | Uint8Array,
  opts: { replace?: boolean } = {},
): Promise<void> {
  const f = await AtomicFile.create(finalPath, opts)
  try {
    await f.write(typeof data === 'string' ? Buffer.from(data) : data)
    await f.commit()
  } catch (err) {
    await f.abort()
    throw err
  }
}

async function refuseExisting(finalPath: string, existsError: (path: string) => Error): Promise<void> {
  try {
    await stat(finalPath)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw destError(finalPath, 0, err)
  }
  throw existsError(finalPath)
}

async function replaceWith(partial: string, final: string): Promise<void> {
  try {
    await rename(partial, final)
  } catch (err) {
    throw destError(final, 0, err)
  }
}

// link(2) fails with EEXIST instead of replacing; filesystems without hard links
// (some NAS exports) fall back to a checked rename.
async function publish(partial: string, final: string, existsError: (path: string) => Error): Promise<void> {
  try {
    await link(partial, final)
    await rm(partial)
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      await rm(partial, { force: true })
      throw existsError(final)
    }
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK'].includes(code ?? '')) {
      throw destError(final, 0, err)
    }
  }
  await refuseExisting(final, existsError)
  try {
    await rename(partial, final)
  } catch (err) {
    throw destError(final, 0, err)
  }
}

// Makes the rename itself durable: without it a power cut can lose the new name.
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r')
  try {
    await h.sync()
  } catch (err) {
    // Some filesystems refuse fsync on a directory; the data itself is already synced.
    if (!['EINVAL', 'EBADF', 'ENOTSUP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err
  } finally {
    await h.close()
  }
}

// The one mapping from an errno in the destination to the error a person can act on.
export function destError(file: string, written: number, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  if (FULL.has(code)) return new DestFullError(file, written, { cause: err })
  if (DENIED.has(code)) return new DestNotWritableError(path.dirname(file), errnoText(err), { cause: err })
  return new DestWriteError(file, errnoText(err), { cause: err })
}
