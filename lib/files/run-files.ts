import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { link, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { BackupExistsError, SdBackupError } from '../errors.js'
import { checkMounted, makeDirs } from '../image/preflight.js'
import { localDate } from '../image/naming.js'
import { destError, fsyncDir, writeFileAtomic } from '../image/write-atomic.js'
import { acquireJobLock } from '../jobs/job-lock.js'
import { isInside, type MountEntry } from '../system/mountinfo.js'
import { excluded, globToRegExp } from './glob.js'
import { SNAPSHOT_MANIFEST, type FileEntry, type SnapshotManifest } from './snapshot-manifest.js'

export interface FilesJobOptions {
  readonly paths: readonly string[]
  readonly excludes: readonly string[]
  readonly dest: string
  readonly mount: string | undefined
  readonly station: string
  /** When today's snapshot exists: return undefined instead of failing. */
  readonly onceADay?: boolean
}

export interface FilesContext {
  readonly log: Logger
  readonly now?: () => Date
  readonly mountinfo?: readonly MountEntry[]
  /** Test hook: runs before each file is read (to make one vanish mid-run). */
  readonly beforeFile?: (abs: string) => Promise<void>
}

const SNAPSHOT_NAME = /^\d{4}-\d{2}-\d{2}$/
const DENIED = new Set(['EACCES', 'EPERM'])

// The daily job: a dated snapshot of config, scripts and data on the NAS, pure Node.
// Unchanged files (same type, size and mtime as in the previous snapshot's manifest:
// never the NAS's own metadata, which root squashing rewrites) are hard-linked to it,
// so a day costs what changed. Owners and modes go into the manifest, not onto the NAS.
export async function runFiles(opts: FilesJobOptions, ctx: FilesContext): Promise<SnapshotManifest | undefined> {
  if (opts.mount !== undefined) await checkMounted(opts.mount, opts.dest, ctx.mountinfo)
  const started = (ctx.now ?? (() => new Date()))()
  const root = path.join(opts.dest, opts.station, 'files')
  await makeDirs(root)
  const lock = await acquireJobLock(path.join(opts.dest, opts.station), 'files')
  const name = localDate(started)
  const final = path.join(root, name)
  const work = path.join(root, `${name}.in-progress-${process.pid}`)
  try {
    if (await lstat(final).then(() => true, () => false)) {
      if (opts.onceADay) return undefined
      throw new BackupExistsError(final)
    }
    const previous = await previousSnapshot(root, name)
    await mkdir(work).catch((err: unknown) => {
      throw destError(path.join(work, 'x'), 0, err)
    })
    const globs = opts.excludes.map(globToRegExp)
    const entries: FileEntry[] = []
    const unreadable: string[] = []
    const vanished: string[] = []
    const problem = (abs: string, err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code ?? ''
      if (DENIED.has(code)) unreadable.push(abs)
      else if (code === 'ENOENT') vanished.push(abs)
      else throw err
      ctx.log.warn({ path: abs, code }, `${code === 'ENOENT' ? 'vanished' : 'unreadable'}: ${abs}`)
    }

    // Never back up the backups: --path / would otherwise walk into the NAS itself.
    const destAbs = path.resolve(opts.dest)
    const visit = async (abs: string): Promise<void> => {
      if (excluded(abs, globs) || isInside(abs, destAbs)) return
      let st
      try {
        st = await lstat(abs)
      } catch (err) {
        return problem(abs, err)
      }
      const base = { path: abs, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size: st.size }
      const to = path.join(work, abs)
      if (st.isDirectory()) {
        let names: string[]
        try {
          names = (await readdir(abs)).sort()
        } catch (err) {
          return problem(abs, err)
        }
        await mkdir(to, { recursive: true }).catch((err: unknown) => {
          throw destError(to, 0, err)
        })
        entries.push({ ...base, type: 'dir', size: 0 })
        for (const n of names) await visit(path.join(abs, n))
      } else if (st.isSymbolicLink()) {
        const target = await readlink(abs).catch((err: unknown) => problem(abs, err))
        if (target === undefined) return
        await symlink(target, to).catch((err: unknown) => {
          throw destError(to, 0, err)
        })
        entries.push({ ...base, type: 'symlink', target })
      } else if (st.isFile()) {
        const prev = previous?.entries.get(abs)
        await ctx.beforeFile?.(abs)
        if (prev?.type === 'file' && prev.sha256 && prev.size === st.size && prev.mtimeMs === st.mtimeMs && previous) {
          const linked = await link(path.join(previous.dir, abs), to).then(() => true, () => false)
          if (linked) return void entries.push({ ...base, type: 'file', sha256: prev.sha256 })
        }
        try {
          entries.push({ ...base, type: 'file', sha256: await copyFile(abs, to) })
        } catch (err) {
          if (err instanceof SdBackupError) throw err // the NAS side failed: the run fails
          await rm(to, { force: true })
          problem(abs, err)
        }
      } else entries.push({ ...base, type: 'other', size: 0 })
    }

    for (const p of opts.paths) {
      const abs = path.resolve(p)
      if (!(await lstat(abs).then(() => true, () => false))) {
        ctx.log.info({ path: abs }, `not present here, skipped: ${abs}`)
        continue
      }
      await mkdir(path.join(work, path.dirname(abs)), { recursive: true })
      await visit(abs)
    }
    const manifest: SnapshotManifest = {
      format: 'sd-backup-files',
      formatVersion: 1,
      station: opts.station,
      snapshot: name,
      paths: opts.paths.map((p) => path.resolve(p)),
      excludes: opts.excludes,
      started: started.toISOString(),
      ended: new Date().toISOString(),
      result: unreadable.length || vanished.length ? 'partial' : 'ok',
      unreadable,
      vanished,
      entries,
    }
    await writeFileAtomic(path.join(work, SNAPSHOT_MANIFEST), `${JSON.stringify(manifest)}\n`)
    await rename(work, final).catch((err: unknown) => {
      throw destError(final, 0, err)
    })
    await fsyncDir(root)
    return manifest
  } catch (err) {
    await rm(work, { recursive: true, force: true })
    throw err
  } finally {
    await lock.release()
  }
}

// Copies one file, hashing as it goes; NAS-side errors come back as SdBackupErrors.
async function copyFile(from: string, to: string): Promise<string> {
  const hash = createHash('sha256')
  const input = createReadStream(from)
  await new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve())
    input.once('error', reject)
  })
  let out
  try {
    out = await open(to, 'wx')
  } catch (error) {
    input.destroy()
    throw destError(to, 0, error)
  }
  try {
    for await (const chunk of input) {
      hash.update(chunk as Buffer)
      await out.write(chunk as Buffer).catch((error: unknown) => {
        throw destError(to, 0, error)
      })
    }
  } finally {
    await out.close()
  }
  return hash.digest('hex')
}

// The newest complete snapshot before today, with its manifest entries by path.
async function previousSnapshot(root: string, today: string) {
  const names = (await readdir(root)).filter((n) => SNAPSHOT_NAME.test(n) && n < today).sort()
  for (const n of names.reverse()) {
    try {
      const m = JSON.parse(await readFile(path.join(root, n, SNAPSHOT_MANIFEST), 'utf8')) as SnapshotManifest
      return { dir: path.join(root, n), entries: new Map(m.entries.map((e) => [e.path, e])) }
    } catch {
      // Not a complete snapshot: look further back.
    }
  }
  return undefined
}
