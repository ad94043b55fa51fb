import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { zstdEngine } from '../../lib/codec/zstd-engine.js'
import { completeFrame } from '../../lib/codec/zstd-frames.js'
import { has, sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const test = withTools(t, 'zstd')

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
const hasZlibZstd = major > 22 || (major === 22 && minor >= 15)

// Half random, half zeros: real blocks and long runs, as on a card.
function sample(n: number): Buffer {
  return Buffer.concat([randomBytes(n >> 1), Buffer.alloc(n - (n >> 1))])
}

test("node:zlib's zstd where the runtime has it, else the addon", async (t) => {
  t.equal(zstdEngine().name, hasZlibZstd ? 'node:zlib' : '@mongodb-js/zstd', `Node ${process.version}`)
})

test('each frame carries its content size and an XXH64 checksum that zstd -t checks', async (t) => {
  const dir = tmp(t)
  const parts = [sample(3 << 20), sample(1000), Buffer.alloc(0)]
  const file = path.join(dir, 'x.zst')
  const frames = await Promise.all(parts.map((p) => zstdEngine().compress(p, 3)))
  writeFileSync(file, Buffer.concat(frames))
  const listed = sh(`zstd -lv '${file}'`)
  t.match(listed, /Decompressed Size: .*\(3146728 B\)/, 'the size is known before decoding')
  t.match(listed, /Check: XXH64/)
  sh(`zstd -tq '${file}'`)
  t.same(readFileSync(sh(`zstd -dqc '${file}' > '${file}.raw' && echo '${file}.raw'`).trim()), Buffer.concat(parts))
  for (const [i, f] of frames.entries()) t.same(await zstdEngine().decompress(f), parts[i])
  const bad = Buffer.from(frames[0]!)
  bad.writeUInt8(bad.readUInt8(bad.length - 4) ^ 1, bad.length - 4)
  await t.rejects(zstdEngine().decompress(bad), 'a wrong checksum is an error')
  if (has('bsdcat'))
    t.same(readFileSync(sh(`bsdcat '${file}' > '${file}.b' && echo '${file}.b'`).trim()), Buffer.concat(parts))
})

// The addon writes frames like `zstd --no-content-size --no-check`; completeFrame adds both.
test('a frame without size or checksum is completed; one with a checksum keeps it', async (t) => {
  const dir = tmp(t)
  const raw = path.join(dir, 'raw')
  const data = sample(2 << 20)
  writeFileSync(raw, data)
  for (const flags of ['--no-content-size --no-check', '--no-content-size --check']) {
    sh(`zstd -qf ${flags} '${raw}' -o '${raw}.zst'`)
    const bare = readFileSync(`${raw}.zst`)
    t.notMatch(sh(`zstd -lv '${raw}.zst'`), /Decompressed Size: .*\(2097152 B\)/, `${flags}: no size before`)
    writeFileSync(`${raw}.zst`, completeFrame(bare, data))
    const listed = sh(`zstd -lv '${raw}.zst'`)
    t.match(listed, /Decompressed Size: .*\(2097152 B\)/, `${flags}: size after`)
    t.match(listed, /Check: XXH64/, `${flags}: checksum after`)
    sh(`zstd -tq '${raw}.zst'`)
  }
  const whole = readFileSync(`${raw}.zst`)
  t.equal(completeFrame(whole, data), whole, 'a complete frame is returned as it is')
  t.throws(() => completeFrame(Buffer.from('not a frame'), data), /not a zstd frame/)
})
