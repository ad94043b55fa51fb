import { open, stat, type FileHandle } from 'node:fs/promises'
import { errnoText, SourceReadError, SourceUnreadableError } from '../errors.js'
import { blockDeviceSize, devMajorMinor, wholeDiskName } from '../system/block-device.js'
import type { BufferPool } from '../workers/buffer-pool.js'
import type { Extent } from '../util/extent.js'

// What is being imaged, sized before the first read so percent and ETA are real.
export interface Source {
  readonly path: string
  readonly kind: 'block' | 'file'
  readonly size: number
  /** Whole-disk name (mmcblk0) for a block device, for the dest-on-source check. */
  readonly disk: string | undefined
  readonly handle: FileHandle
}

// Opens a block device (sized from sysfs) or a regular image file (sized by stat).
export async function openSource(path: string, sysfs = '/sys'): Promise<Source> {
  let st
  try {
    st = await stat(path)
  } catch (err) {
    throw new SourceUnreadableError(path, errnoText(err), { cause: err })
  }
  if (!st.isBlockDevice() && !st.isFile()) {
    throw new SourceUnreadableError(path, 'not a block device or a regular file')
  }
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    throw new SourceUnreadableError(path, errnoText(err), { cause: err })
  }
  if (st.isFile()) return { path, kind: 'file', size: st.size, disk: undefined, handle }
  const { major, minor } = devMajorMinor(st.rdev)
  try {
    return {
      path,
      kind: 'block',
      size: blockDeviceSize(major, minor, sysfs),
      disk: wholeDiskName(major, minor, sysfs),
      handle,
    }
  } catch (err) {
    await handle.close()
    throw new SourceUnreadableError(path, `size unknown in sysfs: ${errnoText(err)}`, { cause: err })
  }
}

// One chunk as read: `data` is a view of a pooled buffer, valid until released.
export interface RawChunk {
  readonly index: number
  readonly offset: number
  readonly data: Buffer
  /** Used-block mode: nothing in it is in use; `data` is a shared view of zeros, not pooled. */
  readonly zero?: boolean
  /** Used-block mode: the byte ranges read from the card (the rest is zeros), in card offsets. */
  readonly mapped?: readonly Extent[]
}

// Reads the first `size` bytes of the source front to back, one chunk at a time, each into a buffer taken from
// `pool`: when the pool is exhausted reading waits, which is the backpressure.
// Benchmark before editing (bench/compare.ts): this is the image job's read path.
// An empty source still yields one empty chunk: its member makes the output valid gzip.
export async function* readChunks(
  source: Source,
  size: number,
  chunkSize: number,
  pool: BufferPool,
): AsyncGenerator<RawChunk> {
  let offset = 0
  for (let index = 0; offset < size || index === 0; index++) {
    const want = Math.min(chunkSize, size - offset)
    const buf = await pool.acquire()
    try {
      await readFully(source, buf, 0, want, offset)
    } catch (err) {
      pool.release(buf)
      throw err
    }
    yield { index, offset, data: buf.subarray(0, want) }
    offset += want
  }
}

// Fills buf[at, at + length) from the source at `position`: a failed or short read
// is a SourceReadError naming the byte (the full and the used-block read paths, the layout parsers).
export async function readFully(
  source: Pick<Source, 'path' | 'size' | 'handle'>,
  buf: Buffer,
  at: number,
  length: number,
  position: number,
): Promise<void> {
  for (let got = 0; got < length;) {
    let n: number
    try {
      ;({ bytesRead: n } = await source.handle.read(buf, at + got, length - got, position + got))
    } catch (err) {
      throw new SourceReadError(source.path, position + got, errnoText(err), { cause: err })
    }
    if (n === 0) throw new SourceReadError(source.path, position + got, `ended early: expected ${source.size} bytes`)
    got += n
  }
}
