import t from 'tap'
import { lstatSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setDestGroup } from '../../lib/dest/modes.js'
import { runCli } from '../helpers/cli.js'
import { image, mixedContent } from '../helpers/image.js'
import { needsRoot } from '../helpers/root.js'
import { tmp } from '../helpers/tmp.js'

// Every file and directory below `dir` as 'f600' / 'd700' (type and permission bits), with its group.
function modes(dir: string): Set<string> {
  const out = new Set<string>()
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const st = lstatSync(path.join(d, n.name))
      out.add(`${n.isDirectory() ? 'd' : 'f'}${(st.mode & 0o777).toString(8)}:${st.gid}`)
      if (n.isDirectory()) walk(path.join(d, n.name))
    }
  }
  walk(dir)
  return out
}

t.test('an image, its manifest, status.json and their directories are private: 0600 and 0700', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(src, mixedContent(3 * 2 ** 20, 3))
  await image(dir, src)
  const gid = lstatSync(path.join(dir, 'nas', 'zolder')).gid
  t.same([...modes(path.join(dir, 'nas'))].sort(), [`d700:${gid}`, `f600:${gid}`])
  t.equal(lstatSync(path.join(dir, 'nas')).mode & 0o777, 0o700, 'the backup root too')
})

t.test('with dest-group, the group may read: 0640 and 0750 in that group', async (t) => {
  if (!needsRoot(t)) return
  t.teardown(() => setDestGroup(undefined))
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(src, mixedContent(2 ** 20, 4))
  const nas = path.join(dir, 'nas')
  const r = await runCli([
    'image',
    '--device',
    src,
    '--dest',
    nas,
    '--station',
    'zolder',
    '--dest-group',
    'daemon',
    '--workers',
    '1',
  ])
  t.equal(r.code, 0, r.stderr)
  t.same([...modes(path.join(nas, 'zolder'))].sort(), ['d750:1', 'f640:1'], 'group daemon (gid 1)')
  const bad = await runCli([
    'image',
    '--device',
    src,
    '--dest',
    nas,
    '--station',
    'zolder',
    '--dest-group',
    'no-such-group',
  ])
  t.equal(bad.code, 2)
  t.match(bad.stderr, 'dest-group: no group no-such-group in /etc/group')
})
