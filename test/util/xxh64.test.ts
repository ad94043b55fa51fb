import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { XXH64_WASM, xxh64 } from '../../lib/util/xxh64.js'
import { sh } from '../helpers/image.js'
import { tmp } from '../helpers/tmp.js'
import { withTools } from '../helpers/tools.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

// The checksum the zstd tool itself writes is XXH64's low 32 bits: every tail length, and across the 1 MiB window.
withTools(t, 'zstd')('xxh64 equals the checksum zstd --check writes', async (t) => {
  const dir = tmp(t)
  for (const n of [
    0,
    1,
    3,
    4,
    5,
    8,
    12,
    31,
    32,
    33,
    40,
    63,
    64,
    65,
    1000,
    65543,
    2 ** 20,
    2 ** 20 + 37,
    3 * 2 ** 20 + 8,
  ]) {
    const data = randomBytes(n)
    writeFileSync(path.join(dir, 'in'), data)
    sh(`zstd -qf --check '${dir}/in' -o '${dir}/in.zst'`)
    const z = readFileSync(path.join(dir, 'in.zst'))
    t.equal(xxh64(data)[1], z.readUInt32LE(z.length - 4), `${n} bytes`)
  }
})

withTools(t, 'wat2wasm')('the embedded WebAssembly is what lib/util/xxh64.wat compiles to', async (t) => {
  const out = path.join(tmp(t), 'x.wasm')
  sh(`wat2wasm '${path.join(root, 'lib/util/xxh64.wat')}' -o '${out}'`)
  t.equal(XXH64_WASM, readFileSync(out).toString('base64'))
})
