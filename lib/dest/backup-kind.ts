import { stat } from 'node:fs/promises'
import { errnoText, SourceUnreadableError, UsageError } from '../errors.js'
import { type BackupKind } from './backup.js'
import { isDatabaseCopyName } from './layout.js'
import { codecForImageName } from '../codec/registry.js'

// What a path on the NAS holds, from its name and type: a snapshot directory, a
// database copy (.db.zst) or an image (.img.gz / .img.zst).
export async function backupKind(target: string): Promise<BackupKind> {
  const st = await stat(target).catch((err: unknown) => {
    throw new SourceUnreadableError(target, errnoText(err), { cause: err })
  })
  if (st.isDirectory()) return 'files'
  if (isDatabaseCopyName(target)) return 'database'
  if (codecForImageName(target)) return 'image'
  throw new UsageError(
    `${target} is not a backup sd-backup writes (an .img.gz/.img.zst image, a .db.zst database copy or a files ` +
      `snapshot directory)`,
  )
}
