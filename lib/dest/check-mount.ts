import { realpath } from 'node:fs/promises'
import { DestOutsideMountError, NasNotMountedError } from '../errors.js'
import { isInside, readMountinfo, type MountEntry } from '../system/mountinfo.js'
import { realpathExisting } from '../util/realpath-existing.js'

// --mount is a mount point in the kernel's table and --dest lies inside it.
export async function checkMounted(
  mount: string,
  dest: string,
  entries: readonly MountEntry[] = readMountinfo(),
): Promise<void> {
  let real: string
  try {
    real = await realpath(mount)
  } catch {
    throw new NasNotMountedError(mount)
  }
  if (!entries.some((e) => e.mountPoint === real)) throw new NasNotMountedError(mount)
  if (!isInside(await realpathExisting(dest), real)) throw new DestOutsideMountError(dest, mount)
}
