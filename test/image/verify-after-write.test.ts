import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { BackupCorruptError } from '../../lib/errors.js'
import type { ImageManifest } from '../../lib/dest/image-manifest.js'
import { readStationStatus } from '../../lib/status/job-status.js'
import { runCli } from '../helpers/cli.js'
import { image, listTree, mixedContent } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'

const manifestOf = (file: string) => JSON.parse(readFileSync(`${file}.manifest.json`, 'utf8')) as ImageManifest

t.test(
  'every image is read back and checked before its manifest is written; the result is in the manifest',
  async (t) => {
    const dir = tmp(t)
    const src = path.join(dir, 'card.img')
    writeFileSync(src, mixedContent(700_000))
    const r = await image(dir, src)
    t.match(manifestOf(r.file).verification, { result: 'ok', at: String, seconds: Number })
    t.same(manifestOf(r.file), r.manifest)
  },
)

t.test('an image damaged on its way to the NAS fails the job, and its manifest says so', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(src, mixedContent(700_000))
  let damaged = false
  const err = await image(
    dir,
    src,
    {},
    {
      beforeVerify: async (file) => {
        const b = readFileSync(file)
        b[1000]! ^= 1
        writeFileSync(file, b)
        damaged = true
      },
    },
  ).catch((e: unknown) => e)
  t.ok(damaged)
  t.ok(err instanceof BackupCorruptError)
  const file = path.join(
    dir,
    'nas/zolder/images',
    listTree(path.join(dir, 'nas/zolder/images')).find((n) => n.endsWith('.img.gz'))!,
  )
  const m = manifestOf(file)
  const hit = m.members.findIndex(([off, len]) => off <= 1000 && 1000 < off + len)
  t.match(err, { code: 'SDB_BACKUP_CORRUPT', where: { member: hit, offset: m.members[hit]![0] } })
  t.match(m.verification, { result: 'failed', code: 'SDB_BACKUP_CORRUPT', message: (err as Error).message })
})

t.test('--no-verify skips the check, and the manifest and status.json say it was skipped', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(src, mixedContent(300_000))
  const nas = path.join(dir, 'nas')
  const r = await runCli([
    'image',
    '--device',
    src,
    '--dest',
    nas,
    '--station',
    'schuur',
    '--workers',
    '2',
    '--no-verify',
  ])
  t.equal(r.code, 0, r.stderr)
  const file = path.join(
    nas,
    'schuur/images',
    listTree(path.join(nas, 'schuur/images')).find((n) => n.endsWith('.img.gz'))!,
  )
  t.match(manifestOf(file).verification, { result: 'skipped' })
  t.match((await readStationStatus(nas, 'schuur')).jobs.image, {
    result: 'ok',
    verified: 'skipped',
    message: /NOT verified/,
  })
  t.ok(r.logs.some((l) => /^verification skipped/.test(String(l.msg))))
})

t.test('a verified image is recorded as verified in status.json', async (t) => {
  const dir = tmp(t)
  const src = path.join(dir, 'card.img')
  writeFileSync(src, mixedContent(300_000))
  const nas = path.join(dir, 'nas')
  const r = await runCli(['image', '--device', src, '--dest', nas, '--station', 'schuur', '--workers', '2'])
  t.equal(r.code, 0, r.stderr)
  t.match((await readStationStatus(nas, 'schuur')).jobs.image, { result: 'ok', verified: 'ok' })
})
