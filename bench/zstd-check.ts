// What completing the addon's zstd frames costs (Node 20: content size + XXH64 in
// JS, lib/util/xxh64.ts): the addon's compress alone against compress + completeFrame,
// alternating in one run on 16 MiB chunks of card-like data (half random, half
// text), and node:zlib's zstd beside them where the runtime has it. See bench/RESULTS.md, "zstd frames".
//
//   node dist/bench/zstd-check.js [--rounds 5]
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import zlib from 'node:zlib'
import { completeFrame } from '../lib/codec/zstd-frames.js'
import { xxh64 } from '../lib/util/xxh64.js'
import { machine, median } from './measure.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } })
const rounds = Number(values.rounds)
const MiB = 2 ** 20
const chunk = Buffer.concat([
  randomBytes(8 * MiB),
  Buffer.from('LATITUDE=52.1 LONGITUDE=5.2\n'.repeat((8 * MiB) / 28 + 1)).subarray(0, 8 * MiB),
])

type Addon = { compress(data: Buffer, level?: number): Promise<Buffer> }
let addon: Addon | undefined
try {
  addon = createRequire(import.meta.url)('@mongodb-js/zstd') as Addon
} catch {
  addon = undefined
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - t) / 1e9
}

const bare: number[] = []
const completed: number[] = []
const native: number[] = []
const hash: number[] = []
for (let r = 0; r < rounds; r++) {
  if (addon) {
    bare.push(await time(() => addon.compress(chunk, 3)))
    completed.push(await time(async () => completeFrame(await addon.compress(chunk, 3), chunk)))
  }
  if (typeof zlib.zstdCompressSync === 'function')
    native.push(
      await time(async () =>
        zlib.zstdCompressSync(chunk, {
          params: { [zlib.constants.ZSTD_c_compressionLevel]: 3, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
        }),
      ),
    )
  hash.push(await time(async () => xxh64(chunk)))
}
const mbps = (s: number[]) => (chunk.length / MiB / median(s)).toFixed(0)
console.log(machine())
console.log(`xxh64 (WebAssembly): ${mbps(hash)} MiB/s`)
if (addon)
  console.log(
    `addon compress: ${mbps(bare)} MiB/s; + completeFrame: ${mbps(completed)} MiB/s; ratio ${(median(completed) / median(bare)).toFixed(3)}`,
  )
if (native.length) console.log(`node:zlib zstd (size + checksum by libzstd): ${mbps(native)} MiB/s`)
