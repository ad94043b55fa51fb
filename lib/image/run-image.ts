import { createHash } from 'node:crypto'
import path from 'node:path'
import { rm } from 'node:fs/promises'
import {
  AfterCommandFailedError,
  BeforeCommandFailedError,
  ConfigError,
  isVerificationFailure,
  SdBackupError,
} from '../errors.js'
import { BMAP_BLOCK } from './bmap.js'
import { VERSION } from '../version.js'
import {
  MEMBER_FIELDS,
  manifestText,
  type ImageLayout,
  type ImageManifest,
  type ImageVerification,
} from '../dest/image-manifest.js'
import { isNfs } from '../system/fs-type.js'
import { verifyImage } from '../verify/verify-image.js'
import { bmapPathFor, imagePaths, stationTree } from '../dest/layout.js'
import { preflight } from './preflight.js'
import { Progress } from '../log/progress.js'
import { openSource } from './read-source.js'
import { imagePass, type PassResult } from './image-pass.js'
import { runCommand, type CommandFailure } from './run-command.js'
import { acquireJobLock, type HeldLock } from '../dest/job-lock.js'
import { AtomicFile, fsyncDir, writeFileAtomic } from '../dest/write-atomic.js'
import { type ImageJobOptions, type ImageJobContext } from './image-options.js'

// Flushed in the background every so often, so the last fsync is short (bench/RESULTS.md).
const SYNC_EVERY = 64 * 2 ** 20

export interface ImageResult {
  readonly file: string
  readonly manifestFile: string
  readonly manifest: ImageManifest
  /** Most chunk buffers alive at once: the memory bound that held. */
  readonly peakChunksInMemory: number
}

// Reads the image back as `sd-backup verify` would. A verification failure is a
// result to record; anything else (an interrupt, a dead worker) fails the job.
async function verifyWritten(
  file: string,
  draft: ImageManifest,
  opts: ImageJobOptions,
  ctx: ImageJobContext,
): Promise<{ verification: ImageVerification; failure?: SdBackupError }> {
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
  // On NFS, O_DIRECT reads what the server holds, not this Pi's page cache (NFS takes unaligned direct I/O).
  const readBack = (await isNfs(file)) ? 'direct' : 'page-cache'
  try {
    await verifyImage(file, {
      workers: opts.workers,
      signal: ctx.signal,
      manifest: draft,
      progress: makeProgress,
      direct: readBack === 'direct',
    })
    ctx.log.info(
      { file, seconds: seconds(), readBack },
      `verified: every member and its SHA-256 read back as written ` +
        `(${readBack === 'direct' ? 'from the NAS, O_DIRECT' : 'through the page cache'})`,
    )
    return { verification: { result: 'ok', at: started.toISOString(), seconds: seconds(), readBack } }
  } catch (err) {
    if (!isVerificationFailure(err)) throw err
    ctx.log.error({ err, file }, `verification failed: ${err.message}`)
    return {
      verification: {
        result: 'failed',
        at: started.toISOString(),
        seconds: seconds(),
        code: err.code,
        message: err.message,
        readBack,
      },
      failure: err,
    }
  } finally {
    progress?.stop()
    ctx.sink?.setLineOwner(undefined)
  }
}

// Runs the before-image command, then `read`, then the after-image command whatever
// happened (e.g. stop and start the recording service around the read). A failed
// before-command stops the job; a failed after-command is reported once the image is safe.
async function withCommands<T>(
  opts: ImageJobOptions,
  ctx: ImageJobContext,
  read: () => Promise<T>,
): Promise<{ result: T; afterFailure: CommandFailure }> {
  const timeout = opts.commandTimeoutSeconds
  let result: T
  let afterFailure: CommandFailure
  try {
    if (opts.beforeImage !== undefined) {
      const failure = await runCommand(opts.beforeImage, 'before-image', timeout, ctx.log)
      if (failure) throw new BeforeCommandFailedError(opts.beforeImage, failure)
    }
    result = await read()
  } finally {
    if (opts.afterImage !== undefined) afterFailure = await runCommand(opts.afterImage, 'after-image', timeout, ctx.log)
  }
  return { result, afterFailure }
}

// Writes the .bmap beside the image (before the manifest, which stays last) and
// returns the manifest's layout section.
async function writeBmap(file: string, used: NonNullable<PassResult['used']>, readBytes: number): Promise<ImageLayout> {
  const { text, mappedBytes } = used.bmap.finish()
  const bmapFile = bmapPathFor(file)
  await writeFileAtomic(bmapFile, text)
  return {
    scheme: used.plan.scheme as 'mbr' | 'gpt',
    usedBytes: readBytes,
    minCardBytes: used.plan.minCardBytes,
    bmap: { file: path.basename(bmapFile), mappedBytes, sha256: createHash('sha256').update(text).digest('hex') },
    partitions: used.plan.partitions.map((p) => ({ ...p, fs: p.fs ?? null })),
  }
}

// The weekly image: source → read chunks → compress on workers → write in order to
// DEST/STATION/images/ → read back and verify → manifest last. Nothing is left behind on any failure.
export async function runImage(opts: ImageJobOptions, ctx: ImageJobContext): Promise<ImageResult> {
  const startedAt = (ctx.now ?? (() => new Date()))()
  // The .bmap's 4 KiB blocks are hashed chunk by chunk: chunks must start on block boundaries.
  if (!opts.full && opts.chunkSize % BMAP_BLOCK !== 0)
    throw new ConfigError(
      'chunk-size',
      `${opts.chunkSize} is not a multiple of 4K, which used-block imaging needs (or pass --full)`,
    )
  const paths = imagePaths(opts.dest, opts.station, startedAt, opts.codec)
  const source = await openSource(path.resolve(opts.device), ctx.sysfs)
  let out: AtomicFile | undefined
  let lock: HeldLock | undefined
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
      {
        source: source.path,
        kind: source.kind,
        size: source.size,
        file: paths.file,
        free: space.available,
        needed: space.needed,
        basis: space.basis,
      },
      'preflight passed',
    )
    lock = await acquireJobLock(stationTree(opts.dest, opts.station).root, 'image')
    ctx.signal?.throwIfAborted()
    out = await AtomicFile.create(paths.file, { syncEvery: SYNC_EVERY })
    const pass = await withCommands(opts, ctx, () => imagePass(source, out!, opts, ctx))
    ctx.signal?.throwIfAborted()
    await out.commit()
    let verified: { verification: ImageVerification; failure?: SdBackupError }
    let manifest: ImageManifest
    let bmapWritten = false
    try {
      const layout = pass.result.used ? await writeBmap(paths.file, pass.result.used, pass.result.readBytes) : undefined
      bmapWritten = layout !== undefined
      const endedAt = (ctx.now ?? (() => new Date()))()
      const draft: ImageManifest = {
        format: 'sd-backup-image',
        formatVersion: 2,
        tool: { name: 'sd-backup', version: VERSION },
        station: opts.station,
        image: paths.file.slice(paths.dir.length + 1),
        mode: layout ? 'used' : 'full',
        ...(layout ? { layout } : {}),
        source: { path: source.path, kind: source.kind, size: source.size },
        raw: {
          bytes: pass.result.rawBytes,
          root: pass.result.root,
          ...(pass.result.sha256 ? { sha256: pass.result.sha256 } : {}),
        },
        compressed: { bytes: out.bytesWritten, codec: opts.codec, level: opts.level, chunkSize: opts.chunkSize },
        memberFields: MEMBER_FIELDS,
        members: pass.result.members,
        started: startedAt.toISOString(),
        ended: endedAt.toISOString(),
        durationSeconds: (endedAt.getTime() - startedAt.getTime()) / 1000,
      }
      await ctx.beforeVerify?.(paths.file)
      verified = await verifyWritten(paths.file, draft, opts, ctx)
      manifest = { ...draft, verification: verified.verification }
      await writeFileAtomic(paths.manifest, manifestText(manifest))
    } catch (err) {
      // An image without its manifest is not a backup: take it back out.
      await rm(paths.file, { force: true })
      if (bmapWritten) await rm(bmapPathFor(paths.file), { force: true })
      await fsyncDir(paths.dir).catch(() => {})
      throw err
    }
    // A failed check leaves the image and its manifest (result 'failed') to look
    // at; cleanup removes it after a day and never counts it as a good image.
    if (verified.failure) throw verified.failure
    if (pass.afterFailure) throw new AfterCommandFailedError(opts.afterImage!, pass.afterFailure, paths.file)
    return {
      file: paths.file,
      manifestFile: paths.manifest,
      manifest,
      peakChunksInMemory: pass.result.peakChunksInMemory,
    }
  } catch (err) {
    await out?.abort()
    throw ctx.signal?.aborted && ctx.signal.reason instanceof SdBackupError ? ctx.signal.reason : err
  } finally {
    await lock?.release()
    await source.handle.close()
  }
}
