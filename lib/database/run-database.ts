import { createHash } from 'node:crypto'
import { mkdtemp, open, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { AtomicFile, writeFileAtomic } from '../dest/write-atomic.js'
import { acquireJobLock } from '../dest/job-lock.js'
import type { MountEntry } from '../system/mountinfo.js'
import { VERSION } from '../version.js'
import { copyDatabase } from './copy-database.js'
import { checkMounted } from '../dest/check-mount.js'
import { makeDirs } from '../dest/make-dirs.js'
import { loadZstd } from '../codec/zstd.js'
import { manifestPathFor, stationTree } from '../dest/layout.js'
import { type DatabaseManifest } from '../dest/database-manifest.js'

export interface DatabaseJobOptions {
  readonly dbs: readonly string[]
  readonly dest: string
  readonly mount: string | undefined
  readonly station: string
  readonly level: number
  readonly tmpDir: string
}

const FRAME = 16 * 2 ** 20 // zstd frames of 16 MiB: the copy never sits in memory whole

// The hourly job: each database copied consistently while it is written, checked,
// compressed and written atomically to the NAS with its manifest.
export async function runDatabase(
  opts: DatabaseJobOptions,
  ctx: { log: Logger; now?: () => Date; mountinfo?: readonly MountEntry[]; signal?: AbortSignal },
): Promise<DatabaseManifest[]> {
  if (opts.mount !== undefined) await checkMounted(opts.mount, opts.dest, ctx.mountinfo)
  const tree = stationTree(opts.dest, opts.station)
  await makeDirs(tree.dir('database'))
  const lock = await acquireJobLock(tree.root, 'database')
  const work = await mkdtemp(path.join(opts.tmpDir, 'sd-backup-db-'))
  try {
    const out: DatabaseManifest[] = []
    for (const db of opts.dbs) {
      ctx.signal?.throwIfAborted()
      const started = (ctx.now ?? (() => new Date()))()
      const copy = path.join(work, path.basename(db))
      const check = copyDatabase(db, copy)
      const file = tree.databaseCopy(db, started)
      const written = await compressFile(copy, file, opts.level, ctx.signal)
      const manifest: DatabaseManifest = {
        format: 'sd-backup-database',
        formatVersion: 1,
        tool: { name: 'sd-backup', version: VERSION },
        station: opts.station,
        source: path.resolve(db),
        file: path.basename(file),
        raw: written.raw,
        compressed: { bytes: written.compressedBytes, codec: 'zstd', level: opts.level },
        integrity: check.integrity,
        rowCounts: check.rowCounts,
        started: started.toISOString(),
        ended: new Date().toISOString(),
      }
      try {
        await writeFileAtomic(manifestPathFor(file), `${JSON.stringify(manifest, null, 2)}\n`)
      } catch (err) {
        await rm(file, { force: true })
        throw err
      }
      await rm(copy, { force: true })
      ctx.log.info(
        { db, file, rows: check.rowCounts, bytes: written.raw.bytes, compressed: written.compressedBytes },
        `database ${db} copied to ${file}`,
      )
      out.push(manifest)
    }
    return out
  } finally {
    await rm(work, { recursive: true, force: true })
    await lock.release()
  }
}

// Streams the checked copy through zstd, frame by frame, into an atomic file.
async function compressFile(src: string, file: string, level: number, signal?: AbortSignal) {
  const zstd = await loadZstd()
  const out = await AtomicFile.create(file)
  const h = await open(src, 'r')
  const hash = createHash('sha256')
  let bytes = 0
  try {
    const buf = Buffer.allocUnsafe(FRAME)
    for (;;) {
      signal?.throwIfAborted()
      const { bytesRead } = await h.read(buf, 0, FRAME, bytes)
      if (bytesRead === 0) break
      const chunk = buf.subarray(0, bytesRead)
      hash.update(chunk)
      await out.write(await zstd.compress(Buffer.from(chunk), level))
      bytes += bytesRead
    }
    await out.commit()
  } catch (err) {
    await out.abort()
    throw err
  } finally {
    await h.close()
  }
  return { raw: { bytes, sha256: hash.digest('hex') }, compressedBytes: out.bytesWritten }
}
