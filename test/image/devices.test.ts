import t from 'tap'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { DestFullError, DestOnSourceError } from '../../lib/errors.js'
import { image, listTree, mixedContent, sh, sha256File, v2Digests } from '../helpers/image.js'
import { loopDevice, mount, needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'mkfs.ext4', 'pigz', 'setpriv')

test('a real loop block device is sized from sysfs and imaged byte for byte', async (t) => {
  if (!needsRoot(t)) return
  const dir = tmp(t)
  const file = path.join(dir, 'card.img')
  writeFileSync(file, mixedContent(5 * 2 ** 20 + 512 * 3, 21)) // not a multiple of the chunk size
  const dev = loopDevice(t, file, '-r')
  const r = await image(dir, dev, { chunkSize: 1024 * 1024 })
  t.match(r.manifest.source, { path: dev, kind: 'block', size: 5 * 2 ** 20 + 1536 })
  const want = await sha256File(file)
  t.equal(r.manifest.raw.root, (await v2Digests(file, r.manifest.members)).root)
  t.equal(sh(`pigz -dc '${r.file}' | sha256sum`).split(' ')[0], want)
})

test('a destination on the device being imaged is refused', async (t) => {
  if (!needsRoot(t)) return
  const dir = tmp(t)
  const file = path.join(dir, 'card.img')
  writeFileSync(file, Buffer.alloc(0))
  sh(`truncate -s 16M '${file}' && mkfs.ext4 -q -F '${file}'`)
  const dev = loopDevice(t, file)
  const mnt = mount(t, dev, path.join(dir, 'mnt'), '')
  const dest = path.join(mnt, 'backups')
  await t.rejects(image(dir, dev, { dest }), new DestOnSourceError(dest, dev))
  t.same(
    listTree(mnt).filter((f) => !f.startsWith('lost+found')),
    [],
    'nothing written to the card',
  )
})

test('a destination that fills up mid-run: DestFullError, no partial, earlier backups untouched', async (t) => {
  if (!needsRoot(t)) return
  const dir = tmp(t)
  const nas = mount(t, 'tmpfs', path.join(dir, 'nas'), '-t tmpfs -o size=3m')
  const images = path.join(nas, 'zolder', 'images')
  mkdirSync(images, { recursive: true })
  const earlier = path.join(images, 'zolder-2026-01-04.img.gz')
  writeFileSync(earlier, 'an earlier image\n')
  const src = path.join(dir, 'src.img')
  writeFileSync(src, randomBytes(8 * 2 ** 20)) // does not compress: 8 MiB into 3 MiB of tmpfs
  const err = await image(dir, src, { dest: nas, mount: nas }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(err, DestFullError)
  t.match(err, {
    name: 'DestFullError',
    code: 'SDB_DEST_FULL',
    path: /zolder-\d{4}-\d\d-\d\d\.img\.gz\.\d+-[0-9a-f]{6}\.partial$/,
    written: Number,
    cause: { code: 'ENOSPC' },
  })
  t.same(listTree(nas), ['zolder/images/zolder-2026-01-04.img.gz'], 'no partial, no manifest')
  t.equal(readFileSync(earlier, 'utf8'), 'an earlier image\n')
})

test('a read-only destination is refused in preflight, naming the directory', async (t) => {
  if (!needsRoot(t)) return
  const dir = tmp(t)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(10_000, 2))
  const nas = mount(t, 'tmpfs', path.join(dir, 'nas'), '-t tmpfs -o ro,size=1m')
  await t.rejects(image(dir, src, { dest: nas, mount: nas }), {
    name: 'DestNotWritableError',
    code: 'SDB_DEST_NOT_WRITABLE',
    path: path.join(nas, 'zolder'),
    reason: /^EROFS/,
  })
})

test('an unwritable destination (the root-squash case) names the directory and the cause', async (t) => {
  if (!needsRoot(t)) return
  const dir = tmp(t)
  chmodSync(dir, 0o755)
  const src = path.join(dir, 'src.img')
  writeFileSync(src, mixedContent(100_000, 2))
  chmodSync(src, 0o644)
  const nas = path.join(dir, 'nas')
  mkdirSync(path.join(nas, 'zolder', 'images'), { recursive: true })
  writeFileSync(path.join(nas, 'zolder', 'images', 'zolder-2026-01-04.img.gz'), 'an earlier image\n')
  chownSync(nas, 0, 0)
  // As 'nobody', the user root is squashed to on the NAS: images/ belongs to root.
  const cli = path.resolve('dist/bin/sd-backup.js')
  const r = sh(
    `env -u NODE_OPTIONS setpriv --reuid=65534 --regid=65534 --clear-groups node '${cli}' image --device '${src}' --dest '${nas}' --station zolder 2>&1 >/dev/null; echo "exit=$?"`,
  )
  t.match(r, /^sd-backup image: cannot write in .*nas\/zolder\/images \(EACCES[^\n]*root_squash[^\n]*\nexit=7\n$/)
  t.same(listTree(nas), ['zolder/images/zolder-2026-01-04.img.gz'], 'no probe, no partial')
  t.equal(readFileSync(path.join(nas, 'zolder', 'images', 'zolder-2026-01-04.img.gz'), 'utf8'), 'an earlier image\n')
})
