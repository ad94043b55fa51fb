import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'
import { isRoot, sh } from './image.js'

// Skips the test (with the reason) unless running as root, which loop devices and mounts need.
export function needsRoot(t: Test): boolean {
  if (!isRoot) t.skip('needs root: loop devices and mounts', () => {})
  return isRoot
}

// Attaches FILE to a free loop device, read-only unless asked; detached at teardown.
export function loopDevice(t: Test, file: string, opts = ''): string {
  const dev = sh(`losetup -f --show ${opts} '${file}'`).trim()
  t.teardown(() => {
    sh(`losetup -d ${dev}`)
  })
  return dev
}

// Mounts a filesystem for the test's duration (a tmpfs of SIZE, or a device).
export function mount(t: Test, what: string, dir: string, opts: string): string {
  mkdirSync(dir, { recursive: true })
  sh(`mount ${opts} ${what} '${dir}'`)
  t.teardown(() => {
    sh(`umount '${dir}'`)
  })
  return dir
}

export function under(dir: string, ...p: string[]): string {
  return path.join(dir, ...p)
}
