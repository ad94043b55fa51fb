import { createHash } from 'node:crypto'
import { mkdtemp, open, rm, statfs } from 'node:fs/promises'
import path from 'node:path'
import {
  DestWriteError,
  errnoText,
  NotConfirmedError,
  ShrinkRefusedError,
  TargetExistsError,
  TargetTooSmallError,
} from '../errors.js'
import { AtomicFile } from '../dest/write-atomic.js'
import type { ImageManifest } from '../dest/image-manifest.js'
import { layoutProblem, rootPartition, shrinkMargin, smallestCard, tailReserve } from '../dest/smallest-card.js'
import { runTool, ToolMissing, type ToolResult } from '../system/run-tool.js'
import type { RangeCheck } from '../verify/check-ranges.js'
import { formatBytes } from '../util/size.js'
import { readBack } from './check-card.js'
import { checkTargetDevice, type TargetDevice } from './check-target.js'
import { extUsedRanges } from './ext-used-ranges.js'
import { arrangeFirstBootExpand } from './first-boot-expand.js'
import { resizePartition, type TableWrite } from './resize-partition.js'
import { openImage, type RestoreImageOptions, type RestoreToDeviceOptions } from './restore-image.js'
import { stageImage } from './stage-image.js'
import { openCardForWrite } from './open-card.js'
import { writeFully } from '../util/write-fully.js'

const MiB = 2 ** 20
const COPY = 4 * MiB

export interface ShrinkOptions extends RestoreImageOptions {
  /** Where the image is staged: needs room for its data. */
  readonly tmpDir: string
  /** The environment e2fsprogs and mtools run with (tests hide a tool through PATH). */
  readonly toolEnv?: NodeJS.ProcessEnv
  /** What the owner should know as it goes (e2fsck's repairs, first-boot growth). */
  readonly say?: (line: string) => void
}

export interface ShrinkResult {
  /** The card's bytes written: its table, boot partition and the root's used blocks. */
  readonly written: number
  /** The size of the card image: the root's new end (and GPT's tail). */
  readonly bytes: number
  readonly rootBytes: number
  readonly originalRootBytes: number
  readonly expandArranged: boolean
}

// A range of the card to write, taken from a staged file or from memory.
interface Piece {
  readonly at: number
  readonly length: number
  readonly from: { file: string; offset: number } | { bytes: Buffer }
}

function shrinkable(file: string, m: ImageManifest) {
  if (!m.layout)
    throw new ShrinkRefusedError(file, 'its manifest records no partition layout (a --full image, or an old one)')
  const problem = layoutProblem(m)
  if (problem) throw new ShrinkRefusedError(file, `its manifest's partition layout is not usable: ${problem}`)
  const root = rootPartition(m)
  if (!root) {
    const last = m.layout.partitions.at(-1)
    throw new ShrinkRefusedError(
      file,
      `its last partition${last ? ` (${last.number}, ${last.fs ?? 'not a filesystem sd-backup reads'})` : ''} is ` +
        'not ext2/3/4: only a last ext root filesystem can be shrunk',
    )
  }
  return { root, scheme: m.layout.scheme, partitions: m.layout.partitions }
}

async function tool(file: string, name: string, args: string[], env: NodeJS.ProcessEnv): Promise<ToolResult> {
  try {
    return await runTool(name, args, { env })
  } catch (err) {
    if (err instanceof ToolMissing)
      throw new ShrinkRefusedError(file, `${name} is not installed: apt-get install e2fsprogs`, { cause: err })
    throw err
  }
}

// Stages the image, checks and shrinks its root to fit `disk` bytes ('smallest':
// the data plus the margin), rewrites the table, and returns what to write.
async function prepare(
  file: string,
  m: ImageManifest,
  disk: number | 'smallest',
  dir: string,
  opts: ShrinkOptions,
  device: string,
): Promise<{ pieces: Piece[]; disk: number; rootBytes: number; expandArranged: boolean }> {
  const { root, scheme, partitions } = shrinkable(file, m)
  const env = opts.toolEnv ?? process.env
  const say = (line: string) => opts.say?.(line)
  for (const name of ['e2fsck', 'resize2fs', 'dumpe2fs', 'debugfs']) await tool(file, name, ['-V'], env)
  // Staging holds what the image read of the card (its data), plus room for e2fsck and resize2fs.
  const need = (m.layout?.usedBytes ?? m.raw.bytes) + 64 * MiB
  const fs = await statfs(dir)
  if (fs.bavail * fs.bsize < need)
    throw new ShrinkRefusedError(
      file,
      `--tmp-dir ${path.dirname(dir)} has ${formatBytes(fs.bavail * fs.bsize)} free; staging the image needs ` +
        `${need} bytes (${formatBytes(need)})`,
    )
  const staged = await stageImage(file, m, root.start, root.start + root.size, dir, opts)
  if (staged.droppedBytes > 0)
    say(`${formatBytes(staged.droppedBytes)} of data after the last partition (outside any filesystem) is left out`)

  const fsck = await tool(file, 'e2fsck', ['-f', '-p', staged.root], env)
  if (fsck.code >= 4)
    throw new ShrinkRefusedError(
      file,
      `e2fsck -f finds errors in the root filesystem it cannot repair on its own: ` +
        `${(fsck.stdout + fsck.stderr).trim().split('\n').slice(-3).join(' ')}; restore without --shrink to a card ` +
        'as large as the image',
    )
  if (fsck.code & 1) say('e2fsck repaired the staged root filesystem (the backup itself is unchanged)')

  const sb = await tool(file, 'dumpe2fs', ['-h', staged.root], env)
  const blockSize = Number(/^Block size:\s+(\d+)$/m.exec(sb.stdout)?.[1])
  if (sb.code !== 0 || !Number.isInteger(blockSize))
    throw new ShrinkRefusedError(file, `dumpe2fs -h failed: ${(sb.stdout + sb.stderr).trim()}`)
  // The data is what the image read of the root, as `list` counts it; resize2fs -P has the last word.
  const dataBytes = root.readBytes
  const min = await tool(file, 'resize2fs', ['-P', staged.root], env)
  const minBlocks = Number(/minimum size of the filesystem: (\d+)/.exec(min.stdout)?.[1])
  if (min.code !== 0 || !Number.isInteger(minBlocks))
    throw new ShrinkRefusedError(file, `resize2fs -P failed: ${(min.stdout + min.stderr).trim()}`)
  const wanted = Math.ceil(Math.max(minBlocks * blockSize, dataBytes + shrinkMargin(dataBytes)) / MiB) * MiB
  const reserve = tailReserve(scheme)
  const room = disk === 'smallest' ? wanted : Math.floor((disk - root.start - reserve) / MiB) * MiB
  if (room < wanted) {
    const size = disk === 'smallest' ? 0 : disk
    throw new TargetTooSmallError(device, size, root.start + wanted + reserve, 'shrunk')
  }
  const rootBytes = Math.min(room, root.size)
  if (rootBytes < root.size) {
    const r = await tool(file, 'resize2fs', [staged.root, `${rootBytes / 1024}K`], env)
    if (r.code !== 0) throw new ShrinkRefusedError(file, `resize2fs failed: ${(r.stdout + r.stderr).trim()}`)
    const check = await tool(file, 'e2fsck', ['-f', '-n', staged.root], env)
    if (check.code !== 0)
      throw new ShrinkRefusedError(file, `e2fsck finds the shrunk filesystem unsound: ${check.stdout.trim()}`)
  }
  const cardBytes = disk === 'smallest' ? root.start + rootBytes + reserve : disk

  // The new table, written into the staged head; GPT's backup goes at the new end.
  const h = await open(staged.head, 'r+')
  let tail: TableWrite[]
  try {
    const first = Buffer.alloc(Math.min(root.start, 2 * MiB))
    await h.read(first, 0, first.length, 0)
    let writes: TableWrite[]
    try {
      writes = resizePartition(first, scheme, root.start, rootBytes, cardBytes)
    } catch (err) {
      throw new ShrinkRefusedError(file, `the partition table cannot be edited: ${(err as Error).message}`)
    }
    for (const w of writes.filter((x) => x.at < root.start)) await h.write(w.bytes, 0, w.bytes.length, w.at)
    tail = writes.filter((x) => x.at >= root.start)
    await h.sync()
  } finally {
    await h.close()
  }
  const boot = partitions.find((p) => p.fs?.startsWith('vfat') && p.start + p.size <= root.start)
  const expand = await arrangeFirstBootExpand(staged.head, boot?.start, staged.root, env)
  say(expand.message)

  // The staged filesystem came from the NAS: what dumpe2fs cannot describe is a refusal, not a crash.
  let after
  try {
    after = extUsedRanges((await tool(file, 'dumpe2fs', [staged.root], env)).stdout)
  } catch (err) {
    throw new ShrinkRefusedError(file, `the shrunk filesystem's block bitmaps: ${(err as Error).message}`)
  }
  const pieces: Piece[] = [
    // The head whole: the table and the boot partition (a few hundred MiB at most).
    { at: 0, length: root.start, from: { file: staged.head, offset: 0 } },
    ...after.used.map((r) => ({
      at: root.start + r.start,
      length: r.end - r.start,
      from: { file: staged.root, offset: r.start },
    })),
    ...tail.map((w) => ({ at: w.at, length: w.bytes.length, from: { bytes: w.bytes } })),
  ]
  return { pieces, disk: cardBytes, rootBytes, expandArranged: expand.arranged }
}

// Copies the pieces to `write`, in order, hashing each for the read-back.
async function copyPieces(
  pieces: readonly Piece[],
  write: (buf: Buffer, at: number) => Promise<void>,
  opts: ShrinkOptions,
): Promise<{ written: number; checks: RangeCheck[] }> {
  const total = pieces.reduce((n, p) => n + p.length, 0)
  const progress = opts.progress?.(total, 'write')
  progress?.start()
  const checks: RangeCheck[] = []
  const buf = Buffer.alloc(COPY)
  let written = 0
  try {
    for (const p of pieces) {
      opts.signal?.throwIfAborted()
      const hash = createHash('sha256')
      if ('bytes' in p.from) {
        await write(p.from.bytes, p.at)
        hash.update(p.from.bytes)
      } else {
        const src = await open(p.from.file, 'r')
        try {
          for (let done = 0; done < p.length;) {
            const n = Math.min(COPY, p.length - done)
            const { bytesRead } = await src.read(buf, 0, n, p.from.offset + done)
            if (bytesRead !== n) buf.fill(0, bytesRead, n) // past a staged file's end: zeros
            await write(buf.subarray(0, n), p.at + done)
            hash.update(buf.subarray(0, n))
            done += n
            progress?.addRead(n)
          }
        } finally {
          await src.close()
        }
      }
      written += p.length
      checks.push({
        start: p.at,
        length: p.length,
        sha256: hash.digest('hex'),
        label: `bytes ${p.at}-${p.at + p.length}`,
      })
    }
  } finally {
    progress?.stop()
  }
  return { written, checks }
}

async function staging<T>(file: string, opts: ShrinkOptions, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(opts.tmpDir, 'sd-backup-shrink-')).catch((err: unknown) => {
    throw new ShrinkRefusedError(file, `cannot stage in --tmp-dir ${opts.tmpDir}: ${errnoText(err)}`, { cause: err })
  })
  try {
    return await use(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function openShrinkable(file: string): Promise<ImageManifest> {
  const m = await openImage(file)
  shrinkable(file, m)
  return m
}

// `restore IMAGE --device DEV --shrink`: an image onto a card smaller than the image
// but large enough for its data. Refused before a byte is written when the card is
// too small even for the data, the layout cannot be shrunk or e2fsprogs is missing.
export async function restoreShrunkToDevice(
  file: string,
  device: string,
  opts: ShrinkOptions & Omit<RestoreToDeviceOptions, 'bmap'>,
): Promise<ShrinkResult & { target: TargetDevice; readBack: boolean }> {
  const m = await openShrinkable(file)
  const estimate = smallestCard(m)!
  let target: TargetDevice
  try {
    target = await checkTargetDevice(device, estimate, { backupFile: file, ...opts.env })
  } catch (err) {
    if (err instanceof TargetTooSmallError) throw new TargetTooSmallError(device, err.size, err.needed, 'shrunk')
    throw err
  }
  if (!(await opts.confirm(target, { bytes: Math.min(target.size, m.raw.bytes), file })))
    throw new NotConfirmedError(device, 'the answer was not yes')
  return staging(file, opts, async (dir) => {
    const plan = await prepare(file, m, Math.min(target.size, m.raw.bytes), dir, opts, device)
    const h = await openCardForWrite(device)
    let copied
    try {
      copied = await copyPieces(
        plan.pieces,
        async (buf, at) => {
          try {
            await writeFully(h, buf, at)
          } catch (err) {
            throw new DestWriteError(
              device,
              `at byte ${at}: ${errnoText(err)}; the card holds a partial image, do not boot it`,
              { cause: err },
            )
          }
        },
        opts,
      )
      await h.sync()
    } finally {
      await h.close()
    }
    if (opts.readBack) await readBack(device, copied.checks, opts)
    return {
      target,
      readBack: opts.readBack,
      written: copied.written,
      bytes: plan.disk,
      rootBytes: plan.rootBytes,
      originalRootBytes: rootPartition(m)!.size,
      expandArranged: plan.expandArranged,
    }
  })
}

// `restore IMAGE --output FILE --shrink`: the smallest card image that holds the
// data (plus the margin), sparse, like PiShrink's output. Never overwrites FILE.
export async function restoreShrunkToFile(file: string, output: string, opts: ShrinkOptions): Promise<ShrinkResult> {
  const m = await openShrinkable(file)
  const out = await AtomicFile.create(output, { existsError: (p) => new TargetExistsError(p) })
  try {
    const r = await staging(file, opts, async (dir) => {
      const plan = await prepare(file, m, 'smallest', dir, opts, output)
      const copied = await copyPieces(plan.pieces, (buf, at) => out.writeAt(buf, at), opts)
      await out.setLength(plan.disk)
      return { plan, copied }
    })
    await out.commit()
    return {
      written: r.copied.written,
      bytes: r.plan.disk,
      rootBytes: r.plan.rootBytes,
      originalRootBytes: rootPartition(m)!.size,
      expandArranged: r.plan.expandArranged,
    }
  } catch (err) {
    await out.abort()
    throw err
  }
}
