import { createHash } from 'node:crypto'
import path from 'node:path'
import { rm } from 'node:fs/promises'
import type { Logger } from 'pino'
import { SdBackupError } from '../errors.js'
import { VERSION } from '../version.js'
import type { Codec } from './compress-chunk.js'
import { MEMBER_FIELDS, manifestText, type ImageManifest, type ImageVerification, type MemberEntry } from './manifest.js'
import { isVerificationFailure } from '../verify/verify-errors.js'
import { verifyImage } from '../verify/verify-image.js'
import { imagePaths } from './naming.js'
import { preflight } from './preflight.js'
import { Progress } from './progress.js'
import { openSource } from './read-source.js'
import { compressSource } from './compress-source.js'
import { acquireJobLock, type HeldLock } from '../jobs/job-lock.js'
import { AtomicFile, fsyncDir, writeFileAtomic } from './write-atomic.js'
import type { MountEntry } from '../system/mountinfo.js'
import type { LogSink } from '../log/logger.js'

export interface ImageJobOptions {
  readonly device: string
  readonly dest: string
  readonly mount: string | undefined
  readonly station: string
  readonly codec: Codec
  readonly level: number
  readonly workers: number
  readonly chunkSize: number
  readonly minFree: number | undefined
  readonly progressIntervalSeconds: number
  /** Read the image back and check it before the manifest is written (default on). */
  readonly verify: boolean
}

export interface ImageJobContext {
  readonly log: Logger
  readonly signal?: AbortSignal
  /** A terminal for the live progress line; undefined logs progress instead. */
  readonly tty?: NodeJS.WritableStream
  /** The log sink, so the live line steps aside for log lines. */
  readonly sink?: LogSink
  readonly now?: () => Date
  /** Injected by tests: the mount table and sysfs root, a slow writer, worker faults. */
  readonly mountinfo?: readonly MountEntry[]
  readonly sysfs?: string
  readonly beforeWrite?: (bytes: number) => Promise<void>
  readonly crashOnChunk?: number
  readonly crashMode?: 'throw' | 'exit' | 'reply'
  /** Test hook: runs between writing the image and verifying it (to damage it). */
  readonly beforeVerify?: (file: string) => Promise<void>
}

export interface ImageResult {
  readonly file: string
  readonly manifestFile: string
  readonly manifest: ImageManifest
  /** Most chunk buffers alive at once: the memory bound that held. */
  readonly peakChunksInMemory: number
}

// Reads the image back as `sd-backup verify` would. A verification failure is a
// result to record; anything else (an interrupt, a dead worker) fails the job.
async function verifyWritten(file: string, draft: ImageManifest, opts: ImageJobOptions, ctx: ImageJobContext): Promise<{ verification: ImageVerification; failure?: SdBackupError }> {
  const at = () => (ctx.now ?? (() => new Date()))()
  const started = at()
  const seconds = () => (at().getTime() - started.getTime()) / 1000
  if (!opts.verify) {
    ctx.log.warn({ file }, 'verification skipped (verify = false): this image will not count as a verified backup')
    return { verification: { result: 'skipped', at: started.toISOString(), seconds: 0 } }
  }
  let progress: Progress | undefined
  const makeProgress = (total: number, label: string) => {
    progress = new Progress(total, { tty: ctx.tty, log: ctx.log, intervalSeconds: opts.progressIntervalSeconds, label })
    ctx.sink?.setLineOwner(progress)
    return progress
  }
  try {
    await verifyImage(file, { workers: opts.workers, signal: ctx.signal, manifest: draft, progress: makeProgress })
    ctx.log.info({ file, seconds: seconds() }, `verified: every member and the SHA-256 read back as written`)
    return { verification: { result: 'ok', at: started.toISOString(), seconds: seconds() } }
  } catch (err) {
    if (!isVerificationFailure(err)) throw err
    ctx.log.error({ err, file }, `verification failed: ${err.message}`)
    return { verification: { result: 'failed', at: started.toISOString(), seconds: seconds(), code: err.code, message: err.message }, failure: err }
  } finally {
    progress?.stop()
    ctx.sink?.setLineOwner(undefined)
  }
}

// The weekly image: source → read chunks → compress on workers → write in order to
// DEST/STATION/images/ → read back and verify → manifest last. Nothing is left behind on any failure.
export async function runImage(opts: ImageJobOptions, ctx: ImageJobContext): Promise<ImageResult> {
  const startedAt = (ctx.now ?? (() => new Date()))()
  const paths = imagePaths(opts.dest, opts.station, startedAt, opts.codec)
  const source = await openSource(path.resolve(opts.device), ctx.sysfs)
  let out: AtomicFile | undefined
  let lock: HeldLock | undefined
  const progress = new Progress(source.size, { tty: ctx.tty, log: ctx.log, intervalSeconds: opts.progressIntervalSeconds })
  try {
    const space = await preflight({
      dest: opts.dest,
      mount: opts.mount,
      sourceDisk: source.disk,
      station: opts.station,
      imageDir: paths.dir,
      imageFile: paths.file,
      minFree: opts.minFree,
      mountinfo: ctx.mountinfo,
      sysfs: ctx.sysfs,
    })
    ctx.log.info(
      { source: source.path, kind: source.kind, size: source.size, file: paths.file, free: space.available, needed: space.needed, basis: space.basis },
      'preflight passed',
    )
    lock = await acquireJobLock(path.join(opts.dest, opts.station), 'image')
    ctx.signal?.throwIfAborted()
    out = await AtomicFile.create(paths.file)
    const sink = out
    const hash = createHash('sha256')
    const members: MemberEntry[] = []
    ctx.sink?.setLineOwner(progress)
    progress.start()
    const { peakChunksInMemory } = await compressSource(
      source,
      { ...opts, signal: ctx.signal, crashOnChunk: ctx.crashOnChunk, crashMode: ctx.crashMode },
      {
        onRead(c) {
          hash.update(c.data)
          progress.addRead(c.data.length)
        },
        async write(m) {
          await ctx.beforeWrite?.(m.length)
          members.push([sink.bytesWritten, m.length, m.rawLength, m.crc32])
          await sink.write(...m.parts)
          progress.addCompressed(m.rawLength, m.length)
        },
      },
    )
    progress.stop()
    ctx.signal?.throwIfAborted()
    await out.commit()
    const endedAt = (ctx.now ?? (() => new Date()))()
    const draft: ImageManifest = {
      format: 'sd-backup-image',
      formatVersion: 1,
      tool: { name: 'sd-backup', version: VERSION },
      station: opts.station,
      image: paths.file.slice(paths.dir.length + 1),
      mode: 'full',
      source: { path: source.path, kind: source.kind, size: source.size },
      raw: { bytes: progress.snapshot().bytesRead, sha256: hash.digest('hex') },
      compressed: { bytes: out.bytesWritten, codec: opts.codec, level: opts.level, chunkSize: opts.chunkSize },
      memberFields: MEMBER_FIELDS,
      members,
      started: startedAt.toISOString(),
      ended: endedAt.toISOString(),
      durationSeconds: (endedAt.getTime() - startedAt.getTime()) / 1000,
    }
    let verified: { verification: ImageVerification; failure?: SdBackupError }
    let manifest: ImageManifest
    try {
      await ctx.beforeVerify?.(paths.file)
      verified = await verifyWritten(paths.file, draft, opts, ctx)
      manifest = { ...draft, verification: verified.verification }
      await writeFileAtomic(paths.manifest, manifestText(manifest))
    } catch (err) {
      // An image without its manifest is not a backup: take it back out.
      await rm(paths.file, { force: true })
      await fsyncDir(paths.dir).catch(() => {})
      throw err
    }
    // A failed check leaves the image and its manifest (result 'failed') to look
    // at; cleanup removes it after a day and never counts it as a good image.
    if (verified.failure) throw verified.failure
    return { file: paths.file, manifestFile: paths.manifest, manifest, peakChunksInMemory }
  } catch (err) {
    await out?.abort()
    throw ctx.signal?.aborted && ctx.signal.reason instanceof SdBackupError ? ctx.signal.reason : err
  } finally {
    progress.stop()
    ctx.sink?.setLineOwner(undefined)
    await lock?.release()
    await source.handle.close()
  }
}
