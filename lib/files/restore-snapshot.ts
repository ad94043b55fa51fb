import { chmod, chown, copyFile, lchown, lutimes, mkdir, readFile, symlink, utimes } from 'node:fs/promises'
import path from 'node:path'
import { SNAPSHOT_MANIFEST, type SnapshotManifest } from './snapshot-manifest.js'

// Restores a files snapshot below `target` (TARGET/etc/hosts for /etc/hosts). The
// NAS could not keep owners and modes under root squash: they come from the
// manifest. Owners are applied only when running as root (as tar does).
export async function restoreSnapshot(snapshotDir: string, target: string): Promise<{ restored: number; owners: boolean }> {
  const m = JSON.parse(await readFile(path.join(snapshotDir, SNAPSHOT_MANIFEST), 'utf8')) as SnapshotManifest
  const asRoot = process.getuid?.() === 0
  let restored = 0
  for (const e of m.entries) {
    const to = path.join(target, e.path)
    const from = path.join(snapshotDir, e.path)
    if (e.type === 'dir') await mkdir(to, { recursive: true })
    else if (e.type === 'file') {
      await mkdir(path.dirname(to), { recursive: true })
      await copyFile(from, to)
    } else if (e.type === 'symlink' && e.target !== undefined) {
      await mkdir(path.dirname(to), { recursive: true })
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
