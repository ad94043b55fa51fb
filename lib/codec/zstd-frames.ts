import { xxh64 } from '../util/xxh64.js'

// Where each zstd frame of a file starts and ends (RFC 8878 §3.1), found from the
// frame and block headers alone, so a database copy can be decoded one frame at a
// time instead of whole in memory. Skippable frames are stepped over.
export function zstdFrames(buf: Uint8Array): Array<[start: number, end: number]> {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.length)
  const frames: Array<[number, number]> = []
  let at = 0
  const need = (n: number) => {
    if (at + n > buf.length) throw new Error(`a zstd frame is cut off at byte ${buf.length}`)
  }
  while (at < buf.length) {
    need(4)
    const magic = view.readUInt32LE(at)
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      need(8)
      at += 8 + view.readUInt32LE(at + 4)
      continue
    }
    if (magic !== 0xfd2fb528) throw new Error(`no zstd frame at byte ${at}`)
    const start = at
    need(5)
    const fhd = buf[at + 4]!
    const single = (fhd >> 5) & 1
    const fcsFlag = fhd >> 6
    const fcsBytes = [single, 2, 4, 8][fcsFlag]!
    at += 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + fcsBytes
    for (let last = 0; !last;) {
      need(3)
      const h = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16)
      last = h & 1
      const type = (h >> 1) & 3
      if (type === 3) throw new Error(`reserved zstd block type at byte ${at}`)
      at += 3 + (type === 1 ? 1 : h >>> 3)
    }
    if (fhd & 4) at += 4
    need(0)
    frames.push([start, at])
  }
  return frames
}

// One whole zstd frame with its content size and XXH64 checksum (RFC 8878 §3.1.1.1),
// whatever the library wrote: so `zstd -l` and Imager know the size and `zstd -t` checks it.
// `content` is what the frame decodes to. A frame that has both is returned as it is.
export function completeFrame(frame: Buffer, content: Uint8Array): Buffer {
  if (frame.length < 6 || frame.readUInt32LE(0) !== 0xfd2fb528) throw new Error('not a zstd frame')
  const fhd = frame[4]!
  const hasSize = fhd >> 6 !== 0 || ((fhd >> 5) & 1) === 1
  const hasCheck = ((fhd >> 2) & 1) === 1
  if (hasSize && hasCheck) return frame
  // A window descriptor and no dictionary (what the addon writes) take an 8-byte size after them.
  if (!hasSize && (fhd & 3) !== 0) throw new Error(`unexpected zstd frame header 0x${fhd.toString(16)}`)
  const grow = (hasSize ? 0 : 8) + (hasCheck ? 0 : 4)
  // One copy: the header, the size, the blocks (and any checksum), then the new checksum.
  const out = Buffer.allocUnsafe(frame.length + grow)
  frame.copy(out, 0, 0, 6)
  let at = 6
  if (!hasSize) {
    out.writeBigUInt64LE(BigInt(content.length), 6)
    out[4] = (3 << 6) | fhd
    at += 8
  }
  at += frame.copy(out, at, 6)
  if (!hasCheck) {
    out[4] = out[4]! | 4
    out.writeUInt32LE(xxh64(content)[1], at)
  }
  return out
}
