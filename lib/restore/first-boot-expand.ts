import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { runTool, ToolMissing } from '../system/run-tool.js'

// Raspberry Pi OS (Bookworm and later) grows the root partition and filesystem to
// fill the card in its initramfs when `init=…/firstboot` is on the kernel command line,
// as on a freshly flashed card; firstboot then takes itself off the line.
export const FIRSTBOOT = '/usr/lib/raspberrypi-sys-mods/firstboot'
const RESIZE_HOOK = '/usr/share/initramfs-tools/scripts/local-premount/firstboot'

export const EXPAND_BY_HAND =
  'after the first boot, grow the root filesystem to fill the card: sudo raspi-config nonint do_expand_rootfs && ' +
  'sudo reboot'

async function inRoot(root: string, file: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const r = await runTool('debugfs', ['-R', `stat ${file}`, root], { env })
  return r.code === 0 && /^Inode: \d+/m.test(r.stdout)
}

// Adds init=…/firstboot to cmdline.txt in the staged boot partition (FAT, at `bootAt`
// in `head`) when the staged root has Raspberry Pi OS's resize hook. Says what the
// owner should expect, or what to run by hand when this cannot be arranged.
export async function arrangeFirstBootExpand(
  head: string,
  bootAt: number | undefined,
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ arranged: boolean; message: string }> {
  const byHand = (why: string) => ({ arranged: false, message: `${why}; ${EXPAND_BY_HAND}` })
  if (bootAt === undefined) return byHand('no FAT boot partition before the root')
  const mtools = { ...env, MTOOLS_SKIP_CHECK: '1' }
  const image = `${head}@@${bootAt}`
  try {
    if (!(await inRoot(root, FIRSTBOOT, env)) || !(await inRoot(root, RESIZE_HOOK, env)))
      return byHand(`the root filesystem has no ${FIRSTBOOT} with its initramfs resize hook`)
    const current = await runTool('mtype', ['-i', image, '::cmdline.txt'], { env: mtools })
    if (current.code !== 0) return byHand('the boot partition has no cmdline.txt')
    const line = current.stdout.replace(/\s+$/, '')
    if (/(^|\s)init=/.test(line)) return byHand(`cmdline.txt already sets init= (${line.match(/init=\S*/)![0]})`)
    const dir = await mkdtemp(path.join(path.dirname(head), 'cmdline-'))
    try {
      const next = path.join(dir, 'cmdline.txt')
      await writeFile(next, `${line} init=${FIRSTBOOT}\n`)
      const put = await runTool('mcopy', ['-o', '-i', image, next, '::cmdline.txt'], { env: mtools })
      if (put.code !== 0) return byHand(`mcopy could not update cmdline.txt: ${put.stderr.trim()}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  } catch (err) {
    if (err instanceof ToolMissing)
      return byHand(`${err.tool} is not installed (apt-get install ${err.tool === 'debugfs' ? 'e2fsprogs' : 'mtools'})`)
    throw err
  }
  return {
    arranged: true,
    message:
      `at its first boot Raspberry Pi OS grows the root filesystem to fill the card (init=${FIRSTBOOT} added to ` +
      'cmdline.txt; it also makes new SSH host keys and a new disk identifier, as on a freshly flashed card)',
  }
}
