// CRC-32C (Castagnoli, reflected 0x82F63B78) as ext4's metadata_csum uses it:
// e2fsprogs' ext2fs_crc32c_le, with no final inversion. Metadata only (superblock,
// descriptors, bitmaps), so a byte-wise table is fast enough.
const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

export function crc32cLe(seed: number, data: Uint8Array): number {
  let c = seed >>> 0
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return c >>> 0
}
