import t, { type Test } from 'tap'
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import {
  BackupExistsError,
  DestOutsideMountError,
  InsufficientSpaceError,
  NasNotMountedError,
  SourceUnreadableError,
  WorkerCrashedError,
} from '../../lib/errors.js'
import { parseMountinfo } from '../../lib/system/mountinfo.js'
import { image, listTree, mixedContent } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

function setup(t: Test, size = 1_000_000) {
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(size, 3))
  return { dir, src, nas: path.join(dir, 'nas') }
}

const crashMessages = {
  throw: /^compression worker \d failed: crashed: injected crash on chunk 3$/,
  exit: /^compression worker \d failed: exited with code 70$/,
  reply: /^compression worker \d failed: chunk 3: injected failure$/,
}
for (const crashMode of ['throw', 'exit', 'reply'] as const) {
  t.test(`a worker that crashes (${crashMode}) fails the job cleanly, leaving no partial file`, async (t) => {
    const { dir, src, nas } = setup(t)
    await t.rejects(image(dir, src, {}, { crashOnChunk: 3, crashMode }), {
      name: 'WorkerCrashedError',
      code: 'SDB_WORKER_CRASHED',
      role: 'compression',
      message: crashMessages[crashMode],
    })
    t.same(listTree(nas), [], 'nothing left in the destination')
    t.ok(new WorkerCrashedError('compression', 0, 'x') instanceof Error)
  })
}

t.test('an unmounted NAS mount point is refused before anything is written', async (t) => {
  const { dir, src, nas } = setup(t)
  const mount = path.join(dir, 'mnt')
  mkdirSync(mount)
  await t.rejects(image(dir, src, { mount, dest: path.join(mount, 'backups') }), new NasNotMountedError(mount))
  await t.rejects(
    image(dir, src, { mount: path.join(dir, 'missing'), dest: nas }),
    new NasNotMountedError(path.join(dir, 'missing')),
  )
  t.same(listTree(dir), ['src.img'])
})

t.test('a dest outside the mount is refused', async (t) => {
  const { dir, src, nas } = setup(t)
  const mount = path.join(dir, 'mnt')
  mkdirSync(mount)
  // Pretend the directory is a mount point, through the injected mount table.
  const mountinfo = parseMountinfo(`36 1 0:50 / ${mount} rw - nfs4 nas:/backups rw\n`)
  await t.rejects(image(dir, src, { mount, dest: nas }, { mountinfo }), new DestOutsideMountError(nas, mount))
  const r = await image(dir, src, { mount, dest: path.join(mount, 'b') }, { mountinfo })
  t.equal(r.file.startsWith(path.join(mount, 'b')), true, 'accepted inside the mount')
})

t.test('an existing backup of the day is never overwritten', async (t) => {
  const { dir, src } = setup(t)
  const first = await image(dir, src)
  const before = readFileSync(first.file)
  await t.rejects(image(dir, src, { level: 1 }), new BackupExistsError(first.file))
  t.same(readFileSync(first.file), before, 'earlier image untouched')
  t.equal(listTree(dir).length, 3)
})

t.test('not enough free space for previous image x 1.2 stops before reading', async (t) => {
  const { dir, src } = setup(t)
  const imagesDir = path.join(dir, 'nas', 'zolder', 'images')
  mkdirSync(imagesDir, { recursive: true })
  await t.rejects(image(dir, src, { minFree: 2 ** 60 }), {
    name: 'InsufficientSpaceError',
    code: 'SDB_INSUFFICIENT_SPACE',
    path: imagesDir,
    needed: 2 ** 60,
    basis: '--min-free',
  })
  await image(dir, src, {}, { now: () => new Date(2026, 0, 1) })
  t.match(
    await image(dir, src, {}, { now: () => new Date(2026, 0, 2) }),
    { file: /zolder-2026-01-02\.img\.gz$/ },
    'passes with real free space',
  )
  t.equal(
    new InsufficientSpaceError('p', 1, 2, 'b').message,
    'only 1 bytes free in p, need 2 (b): free space on the NAS (sd-backup cleanup) or lower --min-free',
  )
})

t.test('a source that shrinks mid-run fails with SourceReadError and leaves nothing', async (t) => {
  const { dir, src, nas } = setup(t, 4 * 2 ** 20)
  let truncated = false
  await t.rejects(
    image(
      dir,
      src,
      { workers: 1, chunkSize: 65536 },
      {
        beforeWrite: async () => {
          if (!truncated) truncateSync(src, 2 ** 20)
          truncated = true
        },
      },
    ),
    {
      name: 'SourceReadError',
      code: 'SDB_SOURCE_READ',
      path: src,
      offset: 2 ** 20,
      reason: `ended early: expected ${4 * 2 ** 20} bytes`,
    },
  )
  t.same(listTree(nas), [])
})

t.test('a missing source or one that is neither file nor device is explained', async (t) => {
  const dir = tmp(t)
  await t.rejects(image(dir, path.join(dir, 'nope')), {
    name: 'SourceUnreadableError',
    code: 'SDB_SOURCE_UNREADABLE',
    path: path.join(dir, 'nope'),
    reason: /^ENOENT/,
  })
  await t.rejects(image(dir, dir), new SourceUnreadableError(dir, 'not a block device or a regular file'))
  t.same(listTree(dir), [])
})
