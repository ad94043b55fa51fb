import { createHash, type Hash } from 'node:crypto'
import type { Extent } from '../util/extent.js'

// bmaptool's block size: mapped ranges are whole 4 KiB blocks of the image.
export const BMAP_BLOCK = 4096

interface OpenRange {
  readonly first: number
  last: number
  readonly hash: Hash
}

interface Range {
  readonly first: number
  readonly last: number
  readonly sha256: string
}

// Builds a bmap (bmaptool format 2.0, SHA-256) in the image's one pass: it sees
// every chunk in card order with the ranges that were read, and hashes the bytes
// of each mapped range as they go by, so `bmaptool copy` can check what it writes.
// Chunks must start on 4 KiB boundaries (the chunk size is a multiple of 4 KiB).
export class BmapBuilder {
  private readonly ranges: Range[] = []
  private open: OpenRange | undefined

  constructor(readonly imageSize: number) {}

  // `data` holds the image bytes [offset, offset + data.length); `mapped` the bytes that were read.
  add(offset: number, data: Uint8Array, mapped: readonly Extent[]): void {
    const end = offset + data.length
    for (const m of mapped) {
      const s = Math.floor(m.start / BMAP_BLOCK) * BMAP_BLOCK
      const e = Math.min(Math.ceil(m.end / BMAP_BLOCK) * BMAP_BLOCK, end)
      const open = this.open
      const openEnd = open ? Math.min((open.last + 1) * BMAP_BLOCK, this.imageSize) : -1
      if (open && s <= openEnd) {
        if (e > openEnd) open.hash.update(data.subarray(openEnd - offset, e - offset))
        open.last = Math.max(open.last, Math.ceil(e / BMAP_BLOCK) - 1)
      } else {
        this.close()
        this.open = {
          first: s / BMAP_BLOCK,
          last: Math.ceil(e / BMAP_BLOCK) - 1,
          hash: createHash('sha256').update(data.subarray(s - offset, e - offset)),
        }
      }
    }
  }

  // Ends the pass: the file's text (its BmapFileChecksum is the SHA-256 of the text
  // with that field all zeros) and the bytes in mapped blocks (what `bmaptool copy` writes).
  finish(): { text: string; mappedBytes: number } {
    this.close()
    const blocks = Math.ceil(this.imageSize / BMAP_BLOCK)
    const mapped = this.ranges.reduce((n, r) => n + r.last - r.first + 1, 0)
    const lines = this.ranges.map(
      (r) => `        <Range chksum="${r.sha256}"> ${r.first === r.last ? r.first : `${r.first}-${r.last}`} </Range>`,
    )
    const draft = [
      '<?xml version="1.0" ?>',
      '<!-- Written by sd-backup beside its image. `bmaptool copy IMAGE.img.gz /dev/sdX`',
      '     finds it and writes only the mapped blocks (what the filesystems use),',
      '     checking each range against its SHA-256. -->',
      '<bmap version="2.0">',
      `    <ImageSize> ${this.imageSize} </ImageSize>`,
      `    <BlockSize> ${BMAP_BLOCK} </BlockSize>`,
      `    <BlocksCount> ${blocks} </BlocksCount>`,
      `    <MappedBlocksCount> ${mapped} </MappedBlocksCount>`,
      '    <ChecksumType> sha256 </ChecksumType>',
      `    <BmapFileChecksum> ${'0'.repeat(64)} </BmapFileChecksum>`,
      '    <BlockMap>',
      ...lines,
      '    </BlockMap>',
      '</bmap>',
      '',
    ].join('\n')
    const mappedBytes = this.ranges.reduce(
      (n, r) => n + Math.min((r.last + 1) * BMAP_BLOCK, this.imageSize) - r.first * BMAP_BLOCK,
      0,
    )
    return { text: draft.replace('0'.repeat(64), createHash('sha256').update(draft).digest('hex')), mappedBytes }
  }

  private close(): void {
    if (!this.open) return
    const { first, last, hash } = this.open
    // A 238 GB card may have 100 000 ranges: keep only these.
    this.ranges.push({ first, last, sha256: hash.digest('hex') })
    this.open = undefined
  }
}
