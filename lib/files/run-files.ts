import type { Stats } from 'node:fs'
import { link, lstat, mkdir, open, readdir, readFile, readlink, realpath, rename, rm, symlink } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { BackupExistsError, SdBackupError } from '../errors.js'
import { localDate, snapshotManifestPath, snapshotTime, stationTree } from '../dest/layout.js'
import { destError, fsyncDir, writeFileAtomic } from '../dest/write-atomic.js'
import { acquireJobLock } from '../dest/job-lock.js'
import { isInside, type MountEntry } from '../system/mountinfo.js'
import { applyDestGroup, dirMode, fileMode } from '../dest/modes.js'
import { copyStable, type CopySink } from './copy-stable.js'
import { excluded, globToRegExp } from './glob.js'
import { joinBytes, recordedPath } from '../util/path-bytes.js'
import { snapshotManifestProblem } from '../dest/snapshot-paths.js'
import { type FileEntry, type SnapshotManifest } from '../dest/snapshot-manifest.js'
import { checkMounted } from '../dest/check-mount.js'
import { makeDirs } from '../dest/make-dirs.js'
import pLimit from 'p-limit'

export interface FilesJobOptions {
  readonly paths: readonly string[]
  readonly excludes: readonly string[]
  readonly dest: string
  readonly mount: string | undefined
  readonly station: string
  /** When today's snapshot exists: return undefined instead of failing. */
  readonly onceADay?: boolean
  /** Databases the database job copies: they and their -wal/-shm/-journal are left out. */
  readonly databases?: readonly string[]
}

export interface FilesContext {
  readonly log: Logger
  readonly now?: () => Date
  readonly mountinfo?: readonly MountEntry[]
  /** Test hook: runs before each file is read (to make one vanish mid-run). */
  readonly beforeFile?: (abs: string) => Promise<void>
  /** Test hook: runs after each copy attempt of a file, before it is checked (to change it mid-copy). */
  readonly afterCopy?: (abs: string, attempt: number) => Promise<void>
  readonly signal?: AbortSignal
  /** Files copied at once (bench/files.ts compares); 8 by default. */
  readonly copies?: number
}

// Files copied at once, and copies waiting before the walk waits: from the
// 20,000-file bench on a loop-mounted filesystem (bench/RESULTS.md, "files").
const COPIES = 8
const QUEUED = 64
// What every entry records, whatever its type.
type EntryBase = Pick<FileEntry, 'path' | 'rawPath' | 'uid' | 'gid' | 'mode' | 'mtimeMs' | 'size'>
// Copies of a file that keeps changing: the last one is kept, marked as changed.
const COPY_ATTEMPTS = 2

// The files the database job copies consistently, and SQLite's side files.
function databaseFiles(dbs: readonly string[]): Set<string> {
  return new Set(dbs.flatMap((d) => ['', '-wal', '-shm', '-journal'].map((x) => path.resolve(d) + x)))
}

// The daily job: a dated snapshot of config, scripts and data on the NAS, pure Node.
// Unchanged files (same type, size and mtime as in the previous snapshot's manifest:
// never the NAS's own metadata, which root squashing rewrites) are hard-linked to it,
// so a day costs what changed. Owners and modes go into the manifest, not onto the
// NAS. A file that cannot be read is listed, never a reason to fail the snapshot.
export async function runFiles(opts: FilesJobOptions, ctx: FilesContext): Promise<SnapshotManifest | undefined> {
  if (opts.mount !== undefined) await checkMounted(opts.mount, opts.dest, ctx.mountinfo)
  const started = (ctx.now ?? (() => new Date()))()
  const tree = stationTree(opts.dest, opts.station)
  const root = tree.dir('files')
  await makeDirs(root)
  const lock = await acquireJobLock(tree.root, 'files')
  const name = localDate(started)
  const final = tree.snapshot(started)
  const work = tree.snapshotInProgress(started, process.pid)
  // Files are copied COPIES at a time while the walk goes on: on NFS each small
  // file is a few round trips, which overlap (bench/RESULTS.md, "files"). The walk
  // waits when QUEUED copies are waiting, so memory stays bounded on any tree.
  const limit = pLimit(ctx.copies ?? COPIES)
  const queued = new Set<Promise<void>>()
  let failed: { err: unknown } | undefined
  const copyLater = async (task: () => Promise<void>): Promise<void> => {
    while (queued.size >= QUEUED) await Promise.race(queued)
    if (failed) throw failed.err
    // After a failure the copies still waiting start and end at once: nothing more is written.
    const p: Promise<void> = limit(() => (failed ? Promise.resolve() : task()))
      .catch((err: unknown) => {
        failed ??= { err } // the NAS side failed, or a signal came: the run fails
      })
      .finally(() => queued.delete(p))
    queued.add(p)
  }
  const drain = async () => {
    while (queued.size) await Promise.race(queued)
  }

  try {
    if (
      await lstat(final).then(
        () => true,
        () => false,
      )
    ) {
      if (opts.onceADay) return undefined
      throw new BackupExistsError(final)
    }
    const previous = await previousSnapshot(root, name)
    await mkdir(work, { mode: dirMode() }).catch((err: unknown) => {
      throw destError(path.join(work, 'x'), 0, err)
    })
    await applyDestGroup(work)
    const workBytes = Buffer.from(work)
    const globs = opts.excludes.map(globToRegExp)
    const dbFiles = databaseFiles(opts.databases ?? [])
    if (dbFiles.size)
      ctx.log.info(
        { databases: opts.databases },
        `left out (the database job copies them hourly, consistently): ${[...dbFiles].join(', ')}`,
      )
    // Slots in walk order: copies finish out of order, the manifest stays in it.
    const entries: Array<FileEntry | undefined> = []
    const unreadable: string[] = []
    const vanished: string[] = []
    const changed: string[] = []
    const problem = (abs: Buffer, err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO'
      const shown = abs.toString('utf8')
      if (code === 'ENOENT') vanished.push(shown)
      else unreadable.push(shown)
      ctx.log.warn({ path: shown, code }, `${code === 'ENOENT' ? 'vanished' : `unreadable (${code})`}: ${shown}`)
    }
    // Writes on the NAS: their errors fail the run, except a name too long to store there.
    const onDest = async <T>(to: Buffer, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn()
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') throw err
        throw destError(to.toString('utf8'), 0, err)
      }
    }
    const sinkAt = (to: Buffer) => async (): Promise<CopySink> => {
      const out = await onDest(to, () => open(to, 'wx', fileMode()))
      await applyDestGroup(to)
      return {
        write: (b) => onDest(to, async () => void (await out.write(b))),
        close: () => out.close(),
      }
    }

    // Never back up the backups: --path / would otherwise walk into the NAS itself.
    const destAbs = path.resolve(opts.dest)
    const visit = async (abs: Buffer, retry = true, inline = false): Promise<void> => {
      ctx.signal?.throwIfAborted()
      const shown = abs.toString('utf8')
      if (excluded(shown, globs) || isInside(shown, destAbs) || dbFiles.has(shown)) return
      const to = joinBytes(workBytes, abs)
      try {
        const st = await lstat(abs)
        const base = {
          ...recordedPath(abs),
          uid: st.uid,
          gid: st.gid,
          mode: st.mode & 0o7777,
          mtimeMs: st.mtimeMs,
          size: st.size,
        }
        if (st.isDirectory()) {
          const names = (await readdir(abs, { encoding: 'buffer' })).sort(Buffer.compare)
          await onDest(to, () => mkdir(to, { mode: dirMode() }))
          await applyDestGroup(to)
          entries.push({ ...base, type: 'dir', size: 0 })
          for (const n of names) await visit(joinBytes(abs, n), true, inline)
        } else if (st.isSymbolicLink()) {
          const target = await readlink(abs, { encoding: 'buffer' })
          await onDest(to, () => symlink(target, to))
          entries.push({ ...base, type: 'symlink', ...recordedTarget(target) })
        } else if (st.isFile()) {
          const slot = entries.push(undefined) - 1
          // A file that turned into something else while listed is looked at again, in place.
          if (!inline) return await copyLater(() => copyFile(abs, to, shown, st, base, slot, retry))
          await copyFile(abs, to, shown, st, base, slot, retry)
        } else entries.push({ ...base, type: 'other', size: 0 })
      } catch (err) {
        if (err instanceof SdBackupError) throw err // the NAS side failed (or a signal came): the run fails
        await rm(to, { force: true }).catch(() => {})
        problem(abs, err)
      }
    }

    // One regular file: hard-linked to yesterday's copy when unchanged, else copied
    // (twice at most while it changes), its entry put in its slot.
    const copyFile = async (
      abs: Buffer,
      to: Buffer,
      shown: string,
      st: Stats,
      base: EntryBase,
      slot: number,
      retry: boolean,
    ) => {
      try {
        ctx.signal?.throwIfAborted()
        const prev = previous?.entries.get(base.rawPath ?? base.path)
        await ctx.beforeFile?.(shown)
        if (
          prev?.type === 'file' &&
          prev.sha256 &&
          !prev.changed &&
          prev.size === st.size &&
          prev.mtimeMs === st.mtimeMs &&
          previous
        ) {
          const linked = await link(joinBytes(Buffer.from(previous.dir), abs), to).then(
            () => true,
            () => false,
          )
          if (linked) return void (entries[slot] = { ...base, type: 'file', sha256: prev.sha256 })
        }
        for (let attempt = 1; ; attempt++) {
          const got = await copyStable(abs, st, sinkAt(to), ctx.signal)
          await ctx.afterCopy?.(shown, attempt)
          if (got.kind === 'swapped') {
            if (!retry) throw Object.assign(new Error(`changed type while read: ${got.what}`), { code: 'ECHANGED' })
            ctx.log.info({ path: shown }, `changed while listed (${got.what}): looked at again: ${shown}`)
            return await visit(abs, false, true)
          }
          const after = await lstat(abs).catch(() => undefined)
          const stable =
            got.stable && after !== undefined && after.size === got.size && after.mtimeMs === got.stat.mtimeMs
          if (stable || attempt === COPY_ATTEMPTS) {
            const b = got.stat
            entries[slot] = {
              ...base,
              uid: b.uid,
              gid: b.gid,
              mode: b.mode & 0o7777,
              mtimeMs: b.mtimeMs,
              type: 'file',
              size: got.size,
              sha256: got.sha256,
              ...(stable ? {} : { changed: true as const }),
            }
            if (!stable) {
              changed.push(shown)
              ctx.log.warn(
                { path: shown, stored: got.size },
                `changed while copied, twice: stored the ${got.size} bytes read, marked as changed: ${shown}`,
              )
            }
            return
          }
          await rm(to, { force: true })
        }
      } catch (err) {
        if (err instanceof SdBackupError) throw err // the NAS side failed (or a signal came): the run fails
        await rm(to, { force: true }).catch(() => {})
        problem(abs, err)
      }
    }

    for (const p of opts.paths) {
      let abs = path.resolve(p)
      const st = await lstat(abs).catch(() => undefined)
      if (!st) {
        ctx.log.info({ path: abs }, `not present here, skipped: ${abs}`)
        continue
      }
      await onDest(Buffer.from(path.join(work, path.dirname(abs))), () =>
        mkdir(path.join(work, path.dirname(abs)), { recursive: true, mode: dirMode() }),
      )
      if (st.isSymbolicLink()) {
        // A configured path that is a link: the link itself, then what it points to.
        await visit(Buffer.from(abs))
        const real = await realpath(abs).catch(() => undefined)
        if (!real) continue
        ctx.log.info({ path: abs, target: real }, `${abs} is a symlink to ${real}: following it`)
        abs = real
        await onDest(Buffer.from(path.join(work, path.dirname(abs))), () =>
          mkdir(path.join(work, path.dirname(abs)), { recursive: true, mode: dirMode() }),
        )
      }
      await visit(Buffer.from(abs))
    }
    await drain()
    if (failed) throw failed.err
    for (const list of [unreadable, vanished, changed]) list.sort()
    const manifest: SnapshotManifest = {
      format: 'sd-backup-files',
      formatVersion: 1,
      station: opts.station,
      snapshot: name,
      paths: opts.paths.map((p) => path.resolve(p)),
      excludes: opts.excludes,
      started: started.toISOString(),
      ended: new Date().toISOString(),
      result: unreadable.length || vanished.length || changed.length ? 'partial' : 'ok',
      unreadable,
      vanished,
      changed,
      entries: entries.filter((e) => e !== undefined),
    }
    await writeFileAtomic(snapshotManifestPath(work), `${JSON.stringify(manifest)}\n`)
    await rename(work, final).catch((err: unknown) => {
      throw destError(final, 0, err)
    })
    await fsyncDir(root)
    return manifest
  } catch (err) {
    failed ??= { err }
    await drain() // no copy may still be writing into what is removed next
    await rm(work, { recursive: true, force: true })
    throw err
  } finally {
    await lock.release()
  }
}

function recordedTarget(target: Buffer): { target: string; rawTarget?: string } {
  const r = recordedPath(target)
  return r.rawPath === undefined ? { target: r.path } : { target: r.path, rawTarget: r.rawPath }
}

// The newest complete snapshot before today, with its manifest entries by path. A
// manifest that does not validate is not trusted to vouch for a hard link.
async function previousSnapshot(root: string, today: string) {
  const names = (await readdir(root)).filter((n) => snapshotTime(n) !== undefined && n < today).sort()
  for (const n of names.reverse()) {
    try {
      const m = JSON.parse(await readFile(snapshotManifestPath(path.join(root, n)), 'utf8')) as SnapshotManifest
      if (m?.format !== 'sd-backup-files' || snapshotManifestProblem(m)) continue
      return { dir: path.join(root, n), entries: new Map(m.entries.map((e) => [e.rawPath ?? e.path, e])) }
    } catch {
      // Not a complete snapshot: look further back.
    }
  }
  return undefined
}
