import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

// The package's systemd/ folder: two levels up from lib/install/, three from dist/lib/install/.
export function unitSourceDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const dir = [path.join(here, '../../systemd'), path.join(here, '../../../systemd')].find((d) =>
    existsSync(path.join(d, 'sd-backup.conf')),
  )
  if (!dir) throw new Error(`the package's systemd/ folder is missing next to ${here}`)
  return dir
}

export interface InstallPlan {
  /** Absolute paths written (or that would be), with their content. */
  readonly files: ReadonlyArray<{ readonly path: string; readonly content: string }>
  /** The config is only written when none exists: a person's edits are never overwritten. */
  readonly configKept: string | undefined
  readonly commands: ReadonlyArray<readonly string[]>
}

// The units with this machine's facts filled in: how to run the CLI, and the NAS mount.
export async function planInstall(opts: {
  root: string
  exec: readonly string[]
  mount: string | undefined
  source?: string
}): Promise<InstallPlan> {
  const src = opts.source ?? unitSourceDir()
  const names = (await readdir(src)).filter((n) => /^sd-backup-[a-z]+\.(service|timer)$/.test(n)).sort()
  const unitDir = path.join(opts.root, 'etc/systemd/system')
  const files: Array<{ path: string; content: string }> = []
  for (const n of names) {
    let text = await readFile(path.join(src, n), 'utf8')
    text = text.replace(/^ExecStart=\/usr\/bin\/env sd-backup /m, `ExecStart=${opts.exec.join(' ')} `)
    if (opts.mount) text = text.replace(/^(RequiresMountsFor|ReadWritePaths)=\/mnt\/nas$/gm, `$1=${opts.mount}`)
    files.push({ path: path.join(unitDir, n), content: text })
  }
  const conf = path.join(opts.root, 'etc/sd-backup/sd-backup.conf')
  const configKept = existsSync(conf) ? conf : undefined
  if (!configKept) files.push({ path: conf, content: await readFile(path.join(src, 'sd-backup.conf'), 'utf8') })
  const timers = names.filter((n) => n.endsWith('.timer'))
  return {
    files,
    configKept,
    commands: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', ...timers],
    ],
  }
}

export async function writePlan(plan: InstallPlan): Promise<void> {
  for (const f of plan.files) {
    await mkdir(path.dirname(f.path), { recursive: true })
    await writeFile(f.path, f.content, { mode: f.path.endsWith('.conf') ? 0o600 : 0o644 })
  }
}

// What uninstall removes: the units (timers stopped first). Config and backups stay.
export async function planUninstall(root: string, source?: string): Promise<{ files: string[]; commands: string[][] }> {
  const names = (await readdir(source ?? unitSourceDir()))
    .filter((n) => /^sd-backup-[a-z]+\.(service|timer)$/.test(n))
    .sort()
  const timers = names.filter((n) => n.endsWith('.timer'))
  return {
    files: names.map((n) => path.join(root, 'etc/systemd/system', n)).filter((f) => existsSync(f)),
    commands: [
      ['systemctl', 'disable', '--now', ...timers],
      ['systemctl', 'daemon-reload'],
    ],
  }
}

export async function removeFiles(files: readonly string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true })
}
