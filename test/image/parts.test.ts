import t from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync, inflateRawSync, crc32 } from 'node:zlib'
import { pino } from 'pino'
import { BufferPool } from '../../lib/workers/buffer-pool.js'
import { ChunkCompressor } from '../../lib/codec/chunk-compressor.js'
import { manifestText, MEMBER_FIELDS, type ImageManifest } from '../../lib/dest/image-manifest.js'
import { imagePaths, isImageName, localDate } from '../../lib/dest/layout.js'
import { Progress } from '../../lib/log/progress.js'
import { AtomicFile, writeFileAtomic } from '../../lib/dest/write-atomic.js'
import { BackupExistsError, exitCodeFor } from '../../lib/errors.js'
import { imageSummary } from '../../lib/image/summary.js'
import { listTree } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { deflateBound, deflateChunk, gzipHeader, gzipTrailer } from '../../lib/codec/gzip.js'

t.test('a chunk becomes a gzip member that zlib itself reads back', async (t) => {
  const data = Buffer.from('birdnet '.repeat(10000))
  const { body, crc32: crc } = deflateChunk(data, 6)
  t.equal(body.byteOffset, 0)
  t.equal(body.buffer.byteLength, deflateBound(data.length), 'owns its ArrayBuffer: transferable')
  t.equal(crc, crc32(data))
  const member = Buffer.concat([gzipHeader(6), body, gzipTrailer(crc, data.length)])
  t.same(gunzipSync(member), data)
  t.same(inflateRawSync(body), data)
  t.same([...gzipHeader(9)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3])
  t.equal(gzipHeader(1)[8], 4)
  t.same([...gzipTrailer(0xdeadbeef, 2 ** 32 + 5)], [0xef, 0xbe, 0xad, 0xde, 5, 0, 0, 0], 'ISIZE is mod 2^32')
  const tiny = deflateChunk(Buffer.from('x'), 6)
  // Node 20 hands back zlib's own 16 KiB output; Node 24 a view of a larger buffer, which is copied.
  t.ok(
    tiny.body.byteOffset === 0 && [tiny.body.length, 16 * 1024].includes(tiny.body.buffer.byteLength),
    'small chunks own their memory, never a slice of the shared pool',
  )
})

t.test('zero chunks reuse one payload per length; other chunks are compressed', async (t) => {
  const c = new ChunkCompressor('gzip', 6)
  const a = await c.compress(Buffer.alloc(65536))
  const b = await c.compress(Buffer.alloc(65536))
  t.equal(a.zero, true)
  t.equal(a.body, b.body, 'the cached payload itself: the caller copies it into a pooled body')
  t.same(inflateRawSync(a.body), Buffer.alloc(65536))
  const d = await c.compress(Buffer.from('not zero'))
  t.equal(d.zero, false)
  t.same(inflateRawSync(d.body).toString(), 'not zero')
})

t.test('the buffer pool is a hard limit and recycles transferred memory', async (t) => {
  const pool = new BufferPool(1024, 2)
  const a = await pool.acquire()
  const b = await pool.acquire()
  let third: Buffer | undefined
  const waiting = pool.acquire().then((x) => (third = x))
  await new Promise((r) => setImmediate(r))
  t.equal(third, undefined, 'a third buffer waits')
  pool.release(a.subarray(0, 10))
  await waiting
  t.equal(third!.length, 1024, 'a released view gives back the whole buffer')
  t.equal(third!.buffer, a.buffer)
  pool.release(b)
  t.equal((await pool.acquire()).buffer, b.buffer, 'a free buffer is reused, not reallocated')
  t.equal(pool.peakInUse, 2)
})

t.test('progress: percent, rate, saving and ETA from a clock', async (t) => {
  let now = 0
  const logged: unknown[] = []
  const log = pino({ level: 'info' }, { write: (s: string) => logged.push(JSON.parse(s)) })
  const p = new Progress(1000 * 2 ** 20, { tty: undefined, log, intervalSeconds: 30, now: () => now })
  now = 10_000
  p.addRead(250 * 2 ** 20)
  p.addCompressed(200 * 2 ** 20, 40 * 2 ** 20)
  t.same(p.snapshot(), {
    percent: 25,
    bytesRead: 250 * 2 ** 20,
    totalBytes: 1000 * 2 ** 20,
    mibPerSec: 25,
    savedPercent: 80,
    etaSeconds: 30,
    elapsedSeconds: 10,
  })
  t.equal(p.line(), ' 25.0 %  250.0 MiB / 1000.0 MiB  25.0 MiB/s  saved 80.0 %  ETA 30 s')
  p.logLine()
  t.match(logged[0], { msg: 'progress', progress: { percent: 25, etaSeconds: 30 } })
  const empty = new Progress(0, { tty: undefined, log, intervalSeconds: 30, now: () => 0 })
  t.match(empty.snapshot(), { percent: 100, savedPercent: 0, etaSeconds: undefined })
  t.match(empty.line(), /ETA --$/)
  // Used-block mode counts against an estimate a live filesystem can outgrow.
  p.addRead(800 * 2 ** 20)
  t.match(p.snapshot(), { percent: 100, etaSeconds: 0 })
})

t.test('progress on a terminal: one line redrawn in place, cleared for log lines', async (t) => {
  let screen = ''
  const tty = { write: (s: string) => ((screen += s), true) } as unknown as NodeJS.WritableStream
  const p = new Progress(100, { tty, log: pino({ level: 'silent' }), intervalSeconds: 30, now: () => 1000 })
  p.redraw()
  t.equal(screen, '', 'nothing drawn before start')
  p.start()
  p.addRead(50)
  p.redraw()
  // eslint-disable-next-line no-control-regex -- the live line starts with the terminal's erase sequence
  t.match(screen, /^\r\x1b\[K 50\.0 %  50 B \/ 100 B/)
  screen = ''
  p.clear()
  t.equal(screen, '\r\x1b[K')
  screen = ''
  p.clear()
  t.equal(screen, '', 'clearing twice writes nothing')
  p.stop()
  p.redraw()
  t.equal(screen, '', 'nothing drawn after stop')
})

t.test('atomic files: never replace, never leave a partial', async (t) => {
  const dir = tmp(t)
  const f = path.join(dir, 'a.json')
  await writeFileAtomic(f, '{"a":1}\n')
  t.equal(readFileSync(f, 'utf8'), '{"a":1}\n')
  await t.rejects(writeFileAtomic(f, 'other'), new BackupExistsError(f))
  t.same(listTree(dir), ['a.json'])
  // Two writers racing for one name: the second to publish loses, nothing is replaced.
  const g = path.join(dir, 'b.img.gz')
  const one = await AtomicFile.create(g)
  const two = await AtomicFile.create(g)
  await one.write(Buffer.from('one'))
  await two.write(Buffer.from('t'), Buffer.from('wo'))
  await one.commit()
  await t.rejects(two.commit(), new BackupExistsError(g))
  t.equal(readFileSync(g, 'utf8'), 'one')
  t.same(listTree(dir), ['a.json', 'b.img.gz'])
  const three = await AtomicFile.create(path.join(dir, 'c'))
  await three.write(Buffer.from('x'))
  await three.abort()
  await three.abort()
  t.same(listTree(dir), ['a.json', 'b.img.gz'], 'abort removes the partial, twice is harmless')
  await t.rejects(AtomicFile.create(path.join(dir, 'missing', 'x')), {
    name: 'DestWriteError',
    code: 'SDB_DEST_WRITE',
    reason: /^ENOENT/,
  })
  // Flushed along the way (an image): the content is the same, abort waits for a flush in flight.
  const four = await AtomicFile.create(path.join(dir, 'd'), { syncEvery: 4 })
  for (const w of ['ab', 'cde', 'fghij', 'k']) await four.write(Buffer.from(w))
  await four.commit()
  t.equal(readFileSync(path.join(dir, 'd'), 'utf8'), 'abcdefghijk')
  const five = await AtomicFile.create(path.join(dir, 'e'), { syncEvery: 1 })
  await five.write(Buffer.from('xyz'))
  await five.abort()
  t.same(listTree(dir), ['a.json', 'b.img.gz', 'd'])
  // A flush that failed in the background fails the commit: the file is not published.
  const six = await AtomicFile.create(path.join(dir, 'f'), { syncEvery: 1 })
  ;(six as unknown as { handle: { datasync(): Promise<void> } }).handle.datasync = () =>
    Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
  await six.write(Buffer.from('x'))
  await t.rejects(six.commit(), { name: 'DestWriteError', reason: /^EIO/ })
  await six.abort()
  t.same(listTree(dir), ['a.json', 'b.img.gz', 'd'])
})

t.test('names, manifest text and summary', async (t) => {
  const p = imagePaths('/mnt/nas/backups', 'zolder', new Date(2025, 11, 28, 3, 0), 'gzip')
  t.same(p, {
    dir: '/mnt/nas/backups/zolder/images',
    file: '/mnt/nas/backups/zolder/images/zolder-2025-12-28.img.gz',
    manifest: '/mnt/nas/backups/zolder/images/zolder-2025-12-28.img.gz.manifest.json',
  })
  t.equal(imagePaths('/d', 's', new Date(2025, 0, 2), 'zstd').file, '/d/s/images/s-2025-01-02.img.zst')
  t.equal(localDate(new Date(2026, 10, 27, 23, 59)), '2026-11-27')
  t.ok(isImageName('zolder-2025-12-28.img.gz', 'zolder'))
  t.ok(isImageName('zolder-2025-12-28.img.zst', 'zolder'))
  t.notOk(isImageName('zolder-2025-12-28.img.gz.manifest.json', 'zolder'))
  t.notOk(isImageName('zolder-2025-12-28.img.gz.123.partial', 'zolder'))
  t.notOk(isImageName('zolder-extra-2025-12-28.img.gz', 'zolder'))
  const m: ImageManifest = {
    format: 'sd-backup-image',
    formatVersion: 1,
    tool: { name: 'sd-backup', version: '0.1.0' },
    station: 'zolder',
    image: 'zolder-2025-12-28.img.gz',
    mode: 'full',
    source: { path: '/dev/mmcblk0', kind: 'block', size: 255869321216 },
    raw: { bytes: 255869321216, sha256: 'ab' },
    compressed: { bytes: 42520176230, codec: 'gzip', level: 6, chunkSize: 4194304 },
    memberFields: MEMBER_FIELDS,
    members: [
      [0, 10, 20, 1],
      [10, 5, 20, 2],
    ],
    started: '2025-12-28T03:00:00.000Z',
    ended: '2025-12-28T04:01:05.000Z',
    durationSeconds: 3665,
  }
  const text = manifestText(m)
  t.same(JSON.parse(text), m)
  t.match(text, /\n {4}\[0,10,20,1\],\n {4}\[10,5,20,2\]\n {2}\]\n\}\n$/)
  t.same(JSON.parse(manifestText({ ...m, members: [] })).members, [])
  t.same(imageSummary(m, '/x.img.gz'), {
    text: 'image done: 238.3 GiB in, 39.6 GiB out (83.4 % saved), 1 h 1 min, 66.6 MiB/s → /x.img.gz; NOT verified (verify = false)',
    fields: {
      inputBytes: 255869321216,
      outputBytes: 42520176230,
      savedPercent: 83.4,
      durationSeconds: 3665,
      mibPerSec: 66.6,
      path: '/x.img.gz',
      sha256: 'ab',
      verified: 'skipped',
      readBytes: 255869321216,
    },
  })
  const layout = {
    scheme: 'mbr' as const,
    usedBytes: 42949672960,
    minCardBytes: 255869321216,
    bmap: { file: 'x.img.gz.bmap', mappedBytes: 42949672960, sha256: 'cd' },
    partitions: [],
  }
  t.match(imageSummary({ ...m, mode: 'used', layout }, '/x.img.gz'), {
    text: /^image done: 238\.3 GiB in \(40\.0 GiB read, the rest free\), 39\.6 GiB out/,
    fields: { readBytes: 42949672960 },
  })
  t.match(imageSummary({ ...m, verification: { result: 'ok', at: '', seconds: 421 } }, '/x.img.gz'), {
    text: /→ \/x\.img\.gz; verified in 7 min 1 s$/,
    fields: { verified: 'ok' },
  })
  t.equal(imageSummary({ ...m, raw: { bytes: 0, sha256: '' }, durationSeconds: 0 }, 'p').fields.savedPercent, 0)
  t.equal(exitCodeFor(new Error('bug')), 1)
  t.equal(exitCodeFor('string'), 1)
})
