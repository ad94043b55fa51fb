import { constants } from 'node:fs'
import { lchown, lstat, lutimes, mkdir, open, rm, symlink } from 'node:fs/promises'
import { verifySnapshot } from '../verify/verify-snapshot.js'
import { TargetBlockedError } from '../errors.js'
import { pathBytes } from '../util/path-bytes.js'
import type { FileEntry } from '../dest/snapshot-manifest.js'
import { below, components, makeParents } from '../dest/snapshot-paths.js'

export interface RestoreSnapshotOptions {
  /** Apply setuid and setgid bits from the manifest (off: a snapshot on a shared NAS must not hand out root). */
  readonly keepSetuid?: boolean
}

const NOFOLLOW = constants.O_NOFOLLOW
const SETID = 0o6000

// Restores a files snapshot below `target` (TARGET/etc/hosts for /etc/hosts), after
// verifying it against its manifest: nothing is restored from a damaged snapshot,
// and every path was checked to stay below the target. Directories are made one
// component at a time and never through a symlink; files are created without
// following one; the snapshot's symlinks are made last, so no later entry can go
// through them. Owners and modes come from the manifest (the NAS could not keep
// them), owners only when running as root, setuid/setgid only with keepSetuid.
export async function restoreSnapshot(
  snapshotDir: string,
  target: string,
  opts: RestoreSnapshotOptions = {},
): Promise<{ restored: number; owners: boolean; setidDropped: number }> {
  const { manifest: m } = await verifySnapshot(snapshotDir)
  const asRoot = process.getuid?.() === 0
  await mkdir(target, { recursive: true })
  const made = new Set<string>()
  const refuse = (what: string) => new TargetBlockedError(what)
  const placed: Array<{ e: FileEntry; to: Buffer }> = []
  for (const e of m.entries) {
    if (e.type !== 'dir' && e.type !== 'file') continue
    const parts = components(pathBytes(e))!
    const blocked = await makeParents(target, parts, made, e.type === 'dir')
    if (blocked) throw refuse(blocked)
    const to = below(target, parts)
    if (e.type === 'file') {
      const old = await lstat(to).catch(() => undefined)
      if (old?.isDirectory()) throw refuse(to.toString('utf8'))
      if (old) await rm(to, { force: true }) // a file or symlink there is replaced, never written through
      const src = await open(below(snapshotDir, parts), constants.O_RDONLY | NOFOLLOW)
      try {
        const out = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600)
        try {
          const buf = Buffer.allocUnsafe(1024 * 1024)
          for (;;) {
            const { bytesRead } = await src.read(buf, 0, buf.length)
            if (bytesRead === 0) break
            await out.write(buf.subarray(0, bytesRead))
          }
        } finally {
          await out.close()
        }
      } finally {
        await src.close()
      }
    }
    placed.push({ e, to })
  }
  const links: Array<{ e: FileEntry; to: Buffer }> = []
  for (const e of m.entries) {
    if (e.type !== 'symlink') continue
    const parts = components(pathBytes(e))!
    const blocked = await makeParents(target, parts, made)
    if (blocked) throw refuse(blocked)
    const to = below(target, parts)
    const old = await lstat(to).catch(() => undefined)
    if (old?.isDirectory()) throw refuse(to.toString('utf8'))
    if (old) await rm(to, { force: true })
    await symlink(e.rawTarget !== undefined ? Buffer.from(e.rawTarget, 'base64') : Buffer.from(e.target!), to)
    links.push({ e, to })
  }
  // Metadata last, deepest first, so restoring a file does not disturb its directory's
  // mtime; through a descriptor opened without following, so a symlink is never chmodded through.
  let setidDropped = 0
  for (const { e, to } of [...placed].reverse()) {
    const when = new Date(e.mtimeMs)
    const mode = opts.keepSetuid ? e.mode : e.mode & ~SETID
    if (mode !== e.mode) setidDropped++
    const h = await open(to, constants.O_RDONLY | NOFOLLOW | (e.type === 'dir' ? constants.O_DIRECTORY : 0))
    try {
      if (asRoot) await h.chown(e.uid, e.gid)
      await h.chmod(mode)
      await h.utimes(when, when)
    } finally {
      await h.close()
    }
  }
  for (const { e, to } of links) {
    const when = new Date(e.mtimeMs)
    if (asRoot) await lchown(to, e.uid, e.gid)
    await lutimes(to, when, when)
  }
  return { restored: placed.length + links.length, owners: asRoot, setidDropped }
}
