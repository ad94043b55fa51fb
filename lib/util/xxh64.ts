// XXH64 (seed 0), the checksum a zstd frame ends with: needed only where the zstd
// library cannot add it itself (the @mongodb-js/zstd addon on Node < 22.15).
// 64-bit words are kept as two unsigned 32-bit halves: BigInt is ~20x slower here.
// Hot path: benchmark before editing (bench/zstd-check.ts).

const P1: readonly [number, number] = [0x9e3779b1, 0x85ebca87]
const P2: readonly [number, number] = [0xc2b2ae3d, 0x27d4eb4f]
const P3 = [0x165667b1, 0x9e3779f9] as const
const P4 = [0x85ebca77, 0xc2b2ae63] as const
const P5 = [0x27d4eb2f, 0x165667c5] as const

// Results of the 64-bit helpers, kept out of allocation: (rh, rl).
let rh = 0
let rl = 0

// (ah,al) * (bh,bl) mod 2^64, in 16-bit limbs so every partial product stays exact.
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a48 = ah >>> 16
  const a32 = ah & 0xffff
  const a16 = al >>> 16
  const a00 = al & 0xffff
  const b48 = bh >>> 16
  const b32 = bh & 0xffff
  const b16 = bl >>> 16
  const b00 = bl & 0xffff
  let c00 = a00 * b00
  let c16 = c00 >>> 16
  c00 &= 0xffff
  c16 += a16 * b00
  let c32 = c16 >>> 16
  c16 &= 0xffff
  c16 += a00 * b16
  c32 += c16 >>> 16
  c16 &= 0xffff
  c32 += a32 * b00
  let c48 = c32 >>> 16
  c32 &= 0xffff
  c32 += a16 * b16
  c48 += c32 >>> 16
  c32 &= 0xffff
  c32 += a00 * b32
  c48 += c32 >>> 16
  c32 &= 0xffff
  c48 += Math.imul(a48, b00) + Math.imul(a32, b16) + Math.imul(a16, b32) + Math.imul(a00, b48)
  rl = ((c16 << 16) | c00) >>> 0
  rh = ((c48 << 16) | c32) >>> 0
}

function add(ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl
  rl = low >>> 0
  rh = (ah + bh + (low > 0xffffffff ? 1 : 0)) >>> 0
}

function rotl(h: number, l: number, r: number): void {
  if (r >= 32) {
    const t = h
    h = l
    l = t
    r -= 32
  }
  if (r === 0) {
    rh = h
    rl = l
    return
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0
  rl = ((l << r) | (h >>> (32 - r))) >>> 0
}

// acc = rotl(acc + lane * P2, 31) * P1
function round(ah: number, al: number, lh: number, ll: number): void {
  mul(lh, ll, P2[0], P2[1])
  add(ah, al, rh, rl)
  rotl(rh, rl, 31)
  mul(rh, rl, P1[0], P1[1])
}

// acc = (acc ^ round(0, v)) * P1 + P4
function merge(ah: number, al: number, vh: number, vl: number): void {
  round(0, 0, vh, vl)
  mul((ah ^ rh) >>> 0, (al ^ rl) >>> 0, P1[0], P1[1])
  add(rh, rl, P4[0], P4[1])
}

/** XXH64 of `buf` with seed 0, as [high, low] 32-bit halves. */
export function xxh64(buf: Uint8Array): [number, number] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const n = buf.length
  let p = 0
  let hh: number
  let hl: number
  if (n >= 32) {
    add(P1[0], P1[1], P2[0], P2[1])
    let v1h = rh
    let v1l = rl
    let v2h = P2[0]
    let v2l = P2[1]
    let v3h = 0
    let v3l = 0
    // 0 - P1
    let v4h = (~P1[0] + (P1[1] === 0 ? 1 : 0)) >>> 0
    let v4l = -P1[1] >>> 0
    for (const limit = n - 32; p <= limit; p += 32) {
      round(v1h, v1l, view.getUint32(p + 4, true), view.getUint32(p, true))
      v1h = rh
      v1l = rl
      round(v2h, v2l, view.getUint32(p + 12, true), view.getUint32(p + 8, true))
      v2h = rh
      v2l = rl
      round(v3h, v3l, view.getUint32(p + 20, true), view.getUint32(p + 16, true))
      v3h = rh
      v3l = rl
      round(v4h, v4l, view.getUint32(p + 28, true), view.getUint32(p + 24, true))
      v4h = rh
      v4l = rl
    }
    rotl(v1h, v1l, 1)
    hh = rh
    hl = rl
    rotl(v2h, v2l, 7)
    add(hh, hl, rh, rl)
    hh = rh
    hl = rl
    rotl(v3h, v3l, 12)
    add(hh, hl, rh, rl)
    hh = rh
    hl = rl
    rotl(v4h, v4l, 18)
    add(hh, hl, rh, rl)
    for (const [vh, vl] of [
      [v1h, v1l],
      [v2h, v2l],
      [v3h, v3l],
      [v4h, v4l],
    ] as const) {
      merge(rh, rl, vh, vl)
    }
    hh = rh
    hl = rl
  } else {
    hh = P5[0]
    hl = P5[1]
  }
  // + length (as a 64-bit number)
  add(hh, hl, Math.floor(n / 0x100000000), n >>> 0)
  hh = rh
  hl = rl
  for (; p + 8 <= n; p += 8) {
    round(0, 0, view.getUint32(p + 4, true), view.getUint32(p, true))
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27)
    mul(rh, rl, P1[0], P1[1])
    add(rh, rl, P4[0], P4[1])
    hh = rh
    hl = rl
  }
  if (p + 4 <= n) {
    mul(0, view.getUint32(p, true), P1[0], P1[1])
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23)
    mul(rh, rl, P2[0], P2[1])
    add(rh, rl, P3[0], P3[1])
    hh = rh
    hl = rl
    p += 4
  }
  for (; p < n; p++) {
    mul(0, buf[p]!, P5[0], P5[1])
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11)
    mul(rh, rl, P1[0], P1[1])
    hh = rh
    hl = rl
  }
  // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
  hl = (hl ^ (hh >>> 1)) >>> 0
  mul(hh, hl, P2[0], P2[1])
  hh = rh
  hl = rl
  hl = (hl ^ ((hh << 3) | (hl >>> 29))) >>> 0
  hh = (hh ^ (hh >>> 29)) >>> 0
  mul(hh, hl, P3[0], P3[1])
  hh = rh
  hl = (rl ^ rh) >>> 0
  return [hh, hl]
}
