import { statfs } from 'node:fs/promises'

// NFS_SUPER_MAGIC from linux/magic.h: the filesystem type statfs reports for NFS.
export const NFS_SUPER_MAGIC = 0x6969

// Whether a path lies on NFS (where O_DIRECT reads come from the server).
export async function isNfs(p: string, stat: (p: string) => Promise<{ type: number }> = statfs): Promise<boolean> {
  return (await stat(p).catch(() => ({ type: 0 }))).type === NFS_SUPER_MAGIC
}
