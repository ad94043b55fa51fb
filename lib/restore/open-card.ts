import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { TargetInUseError } from '../errors.js'

// Opens the card to write with O_EXCL: the kernel refuses a device mounted (or opened
// exclusively) since it was checked.
export async function openCardForWrite(device: string): Promise<FileHandle> {
  try {
    return await open(device, constants.O_WRONLY | constants.O_EXCL)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBUSY')
      throw new TargetInUseError(device, 'the kernel reports it busy (mounted or opened exclusively)')
    throw err
  }
}
