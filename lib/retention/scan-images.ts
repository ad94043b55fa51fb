import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { isImageName, manifestPathFor } from '../image/naming.js'
import { pidAlive, readLockHolder } from '../jobs/job-lock.js'
import type { Backup } from './apply-policy.js'

// A backup found on the NAS, with the files that make it up (image + manifest).
export interface FoundBackup extends Backup {
  readonly files: readonly string[]
  readonly bytes: number
}

const PARTIAL = /^(.+)\.(\d+)-[0-9a-f]{6}\.partial$/

// This station's images and the partial files of its unfinished runs, from
// DEST/STATION/images/. Anything else there is not ours and is never listed, so
// never removed. A partial whose pid holds the image lock on this host is held.
export async function scanImages(stationDir: string, station: string, host: string, alive = pidAlive): Promise<FoundBackup[]> {
  const dir = path.join(stationDir, 'images')
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const holder = await readLockHolder(path.join(stationDir, '.lock-image')).catch(() => undefined)
  const heldPid = holder && holder.host === host && alive(holder.pid) ? holder.pid : undefined
  const found: FoundBackup[] = []
  for (const name of names) {
    const file = path.join(dir, name)
    const partial = PARTIAL.exec(name)
    if (partial && isImageName(path.basename(partial[1]!), station)) {
      const st = await stat(file)
      found.push({ name, kind: 'partial', time: st.mtime, complete: false, held: Number(partial[2]) === heldPid, files: [file], bytes: st.size })
    } else if (isImageName(name, station)) {
      const manifest = manifestPathFor(file)
      const complete = names.includes(path.basename(manifest))
      const st = await stat(file)
      found.push({ name, kind: 'image', time: dateOf(name, station), complete, files: complete ? [file, manifest] : [file], bytes: st.size })
    }
  }
  return found
}

// The image's day from its name, at local midnight: names are the station's dates.
function dateOf(name: string, station: string): Date {
  const [y, m, d] = name.slice(station.length + 1, station.length + 11).split('-').map(Number) as [number, number, number]
  return new Date(y, m - 1, d)
}
