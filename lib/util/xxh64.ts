// XXH64 (seed 0), the checksum a zstd frame ends with: needed only where the zstd
// library cannot add it itself (the @mongodb-js/zstd addon on Node < 22.15).
// WebAssembly for its native 64-bit multiply: plain JS managed ~35 MB/s, this runs near
// memory speed. Hot path: benchmark before editing (bench/zstd-check.ts).

// wat2wasm lib/util/xxh64.wat -o - | base64 -w0 (test/util/xxh64.test.ts checks it is current).
export const XXH64_WASM =
  'AGFzbQEAAAABFARgAn5+AX5gAABgAX8AYAJ/fgF+AwYFAAABAgMFAwEAEQYVBH4BQgALfgFCAAt+AUIAC34BQgALByUEBm1lbW9yeQIABXJlc2V0AAIHc3RyaXBlcwADBmZpbmlzaAAECr8EBSEAIAAgAULP1tO+0ser2UJ+fEIfiUKHla+vmLbem55/fgsjACAAQgAgARAAhUKHla+vmLbem55/fkLj3MqV/M7y9YV/fAs6AEKHla+vmLbem55/Qs/W077Sx6vZQnwkAELP1tO+0ser2UIkAUIAJAJCAEKHla+vmLbem55/fSQDC2gCAX8EfiMAIQIjASEDIwIhBCMDIQUCQANAIAEgAE8NASACIAEpAwAQACECIAMgASkDCBAAIQMgBCABKQMQEAAhBCAFIAEpAxgQACEFIAFBIGohAQwACwsgAiQAIAMkASAEJAIgBSQDC9ICAgF+AX8gAUIgWgRAIwBCAYkjAUIHiXwjAkIMiSMDQhKJfHwhAiACIwAQASECIAIjARABIQIgAiMCEAEhAiACIwMQASECBULFz9my8eW66ichAgsgAiABfCECAkADQCADQQhqIABLDQEgAkIAIAMpAwAQAIVCG4lCh5Wvr5i23puef35C49zKlfzO8vWFf3whAiADQQhqIQMMAAsLIANBBGogAE0EQCACIAM1AgBCh5Wvr5i23puef36FQheJQs/W077Sx6vZQn5C+fPd8Zn2masWfCECIANBBGohAwsCQANAIAMgAE8NASACIAMxAABCxc/ZsvHluuonfoVCC4lCh5Wvr5i23puef34hAiADQQFqIQMMAAsLIAIgAkIhiIUhAiACQs/W077Sx6vZQn4hAiACIAJCHYiFIQIgAkL5893xmfaZqxZ+IQIgAiACQiCIhQs='

interface Xxh64Exports {
  readonly memory: WebAssembly.Memory
  reset(): void
  stripes(len: number): void
  finish(rem: number, total: bigint): bigint
}

// The module's memory is 17 pages: a window of 1 MiB (whole stripes) is hashed at a time.
const WINDOW = 2 ** 20
let wasm: Xxh64Exports | undefined

function instance(): Xxh64Exports {
  wasm ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(XXH64_WASM, 'base64')))
    .exports as unknown as Xxh64Exports
  return wasm
}

/** XXH64 of `buf` with seed 0, as [high, low] 32-bit halves. */
export function xxh64(buf: Uint8Array): [number, number] {
  const x = instance()
  const mem = new Uint8Array(x.memory.buffer)
  x.reset()
  const whole = buf.length - (buf.length % 32)
  for (let at = 0; at < whole; at += WINDOW) {
    const n = Math.min(WINDOW, whole - at)
    mem.set(buf.subarray(at, at + n), 0)
    x.stripes(n)
  }
  mem.set(buf.subarray(whole), 0)
  const h = BigInt.asUintN(64, x.finish(buf.length - whole, BigInt(buf.length)))
  return [Number(h >> 32n), Number(h & 0xffffffffn)]
}
