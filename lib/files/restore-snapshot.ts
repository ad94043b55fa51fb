import { chmod, chown, copyFile, lchown, lutimes, mkdir, rm, symlink, utimes } from 'node:fs/promises'
import path from 'node:path'
import { verifySnapshot } from '../verify/verify-snapshot.js'

// Restores a files snapshot below `target` (TARGET/etc/hosts for /etc/hosts), after
// verifying it against its manifest: nothing is restored from a damaged snapshot.
// The NAS could not keep owners and modes under root squash: they come from the
// manifest. Owners are applied only when running as root (as tar does). Existing
// files and symlinks at the same paths are replaced.
export async function restoreSnapshot(snapshotDir: string, target: string): Promise<{ restored: number; owners: boolean }> {
  const { manifest: m } = await verifySnapshot(snapshotDir)
  const asRoot = process.getuid?.() === 0
  let restored = 0
  for (const e of m.entries) {
    const to = path.join(target, e.path)
    const from = path.join(snapshotDir, e.path)
    if (e.type === 'dir') await mkdir(to, { recursive: true })
    else if (e.type === 'file') {
      await mkdir(path.dirname(to), { recursive: true })
      await rm(to, { force: true }).catch(() => {}) // never write through a symlink at the target
      await copyFile(from, to)
    } else if (e.type === 'symlink' && e.target !== undefined) {
      await mkdir(path.dirname(to), { recursive: true })
      await rm(to, { force: true })
      await symlink(e.target, to)
    } else continue
    restored++
  }
  // Metadata last, deepest first, so restoring a file does not disturb its directory's mtime.
  for (const e of [...m.entries].reverse()) {
    const to = path.join(target, e.path)
    const when = new Date(e.mtimeMs)
    if (e.type === 'symlink') {
      if (asRoot) await lchown(to, e.uid, e.gid)
      await lutimes(to, when, when)
    } else if (e.type === 'file' || e.type === 'dir') {
      if (asRoot) await chown(to, e.uid, e.gid)
      await chmod(to, e.mode)
      await utimes(to, when, when)
    }
  }
  return { restored, owners: asRoot }
}
