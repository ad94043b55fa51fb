import { spawnSync } from 'node:child_process'
import { crc32 } from 'node:zlib'
import t from 'tap'
import { checkAgainstManifest } from '../../lib/codec/codec.js'
import { CODECS, codecForImageName, isCodec } from '../../lib/codec/registry.js'
import { mixedContent } from '../helpers/image.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'gzip', 'zstd')

// What the system's own tool makes of one framed member: gzip -dc, zstd -dc.
function systemDecode(codec: string, bytes: Buffer): Buffer {
  const r = spawnSync(codec === 'gzip' ? 'gzip' : 'zstd', ['-dc'], { input: bytes, maxBuffer: 64 * 2 ** 20 })
  if (r.status !== 0) throw new Error(`${codec} -dc failed: ${r.stderr.toString()}`)
  return r.stdout
}

for (const codec of Object.values(CODECS)) {
  test(`${codec.name}: a member as written is what the system tool and the codec decode to`, async (t) => {
    const raw = mixedContent(3 * 2 ** 20 + 17, 3)
    const { body, crc32: crc } = await codec.encode(raw, codec.levels.default)
    t.equal(crc, crc32(raw), 'the CRC-32 is the raw chunk’s')
    t.equal(body.byteOffset, 0, 'the body owns its buffer from offset 0 (the thread frees it)')
    t.ok(body.length <= codec.bodyBound(raw.length), 'within the bound the pooled buffers are sized by')
    const member = Buffer.concat(codec.frame(codec.levels.default, body, crc, raw.length))
    t.ok(systemDecode(codec.name, member).equals(raw), `${codec.name} -dc gives the chunk back`)
    const back = await codec.decode(member, { rawLength: raw.length, crc32: crc })
    t.ok(back.ok && back.raw.equals(raw), 'decode gives the chunk back')
  })

  test(`${codec.name}: a damaged member or a manifest that disagrees is a reason, never a crash`, async (t) => {
    const raw = mixedContent(2 ** 20, 5)
    const { body, crc32: crc } = await codec.encode(raw, codec.levels.default)
    const member = Buffer.concat(codec.frame(codec.levels.default, body, crc, raw.length))
    const flipped = Buffer.from(member)
    flipped[member.length >> 1]! ^= 0x40
    const bad = await codec.decode(flipped, { rawLength: raw.length, crc32: crc })
    t.notOk(bad.ok, 'a flipped bit is caught')
    const short = await codec.decode(member, { rawLength: raw.length + 1, crc32: crc })
    t.match(short, { ok: false, reason: /bytes decoded, the manifest says/ })
    const crcOff = await codec.decode(member, { rawLength: raw.length, crc32: crc ^ 1 })
    t.match(crcOff, { ok: false, reason: /CRC-32 0x[0-9a-f]{8} differs from the manifest's/ })
    t.notOk((await codec.decode(member.subarray(0, 12), { rawLength: raw.length, crc32: crc })).ok, 'a cut member')
  })
}

test('the registry names codecs and knows an image by its extension', async (t) => {
  t.ok(isCodec('gzip'))
  t.notOk(isCodec('toString'), 'not an inherited property')
  t.notOk(isCodec(7))
  t.equal(codecForImageName('zolder-2026-11-22.img.gz'), 'gzip')
  t.equal(codecForImageName('zolder-2026-11-22.img.zst'), 'zstd')
  t.equal(codecForImageName('zolder-2026-11-22.img'), undefined)
  t.same(checkAgainstManifest(Buffer.from('ab'), crc32('ab'), { rawLength: 2, crc32: crc32('ab') }), {
    ok: true,
    raw: Buffer.from('ab'),
  })
})
