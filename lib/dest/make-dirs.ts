import { mkdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { DestNotWritableError, errnoText } from '../errors.js'
import { applyDestGroup, dirMode } from './modes.js'

// mkdir -p one level at a time: recursive mkdir reports ENOENT for what is really
// EROFS or EACCES on the level it could not create, and the person needs the real cause.
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = []
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    try {
      await stat(cur)
      break
    } catch {
      missing.unshift(cur)
    }
  }
  for (const d of missing) {
    try {
      await mkdir(d, { mode: dirMode() })
      await applyDestGroup(d)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new DestNotWritableError(d, errnoText(err), { cause: err })
    }
  }
}
