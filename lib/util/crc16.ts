// CRC-16 (ANSI, reflected 0xA001) as ext4's uninit_bg group descriptors use it:
// e2fsprogs' ext2fs_crc16.
const TABLE = (() => {
  const t = new Uint16Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xa001 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

export function crc16(seed: number, data: Uint8Array): number {
  let c = seed & 0xffff
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return c & 0xffff
}
