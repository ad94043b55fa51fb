import { type Codec } from '../codec/registry.js'

// The fields of each entry of `members`, in order (tuples keep a 60 000-member index small).
// Version 2 adds each member's SHA-256 (hex), or 0 for a member of zeros, whose
// digest follows from its length: a mostly empty card's manifest stays small.
export const MEMBER_FIELDS = ['offset', 'compressedLength', 'rawLength', 'crc32', 'sha256'] as const
export const MEMBER_FIELDS_V1 = ['offset', 'compressedLength', 'rawLength', 'crc32'] as const
export type MemberEntry = [
  offset: number,
  compressedLength: number,
  rawLength: number,
  crc32: number,
  sha256?: string | 0,
]

// Version 2: a run of free space becomes one member of up to this many zeros (whole
// chunks): a 238 GB card with 40 GB in use has ~3 000 of them instead of ~200 000.
// 64 MiB of zeros deflate to ~64 KiB, and a reader that meets one it does not
// recognise inflates 64 MiB at most (bench/RESULTS.md).
export const MAX_ZERO_MEMBER = 64 * 2 ** 20

// The image's identity in version 2: SHA-256 of the members' 32-byte digests, in order.
export const ROOT_DIGEST = 'SHA-256 of the concatenated 32-byte SHA-256 digests of the members, in order'

// The read-back check the image job ran before writing the manifest: the image
// decoded member by member against this index and the SHA-256. Retention counts
// only images whose result is 'ok' as the newest good one.
export interface ImageVerification {
  readonly result: 'ok' | 'failed' | 'skipped'
  readonly at: string
  readonly seconds: number
  /** The error code and message when it failed. */
  readonly code?: string
  readonly message?: string
  /**
   * Where the read-back came from: 'direct' (O_DIRECT on NFS: the server's copy)
   * or 'page-cache' (this machine may have served what it had just written).
   */
  readonly readBack?: 'direct' | 'page-cache'
}

// One partition of a used-block image: how it was read (the per-partition log line).
export interface ManifestPartition {
  readonly number: number
  readonly start: number
  readonly size: number
  readonly type: string
  readonly fs: string | null
  readonly method: 'used' | 'whole'
  readonly reason?: string
  /** Doubts that made parts of the partition be read whole. */
  readonly notes?: readonly string[]
  readonly readBytes: number
}

// What a used-block image read of the card: free space is zeros in the image.
export interface ImageLayout {
  readonly scheme: 'mbr' | 'gpt'
  /** Bytes read from the card (the rest of the image is zeros). */
  readonly usedBytes: number
  /** The end of the last partition: the smallest card the image fits. */
  readonly minCardBytes: number
  /** The .bmap beside the image (bmaptool 2.0) and the bytes it maps. */
  readonly bmap: { readonly file: string; readonly mappedBytes: number; readonly sha256: string }
  readonly partitions: readonly ManifestPartition[]
}

// Written last, beside the image: without it the image is not a complete backup,
// because a .gz cut at a member boundary still passes `gzip -t`.
export interface ImageManifest {
  readonly format: 'sd-backup-image'
  /** 1: one SHA-256 of the whole image; 2: a SHA-256 per member and their root digest. */
  readonly formatVersion: 1 | 2
  readonly tool: { readonly name: 'sd-backup'; readonly version: string }
  readonly station: string
  readonly image: string
  /** 'used': only what the filesystems use was read (see layout); 'full': every byte. */
  readonly mode: 'full' | 'used'
  readonly layout?: ImageLayout
  readonly source: { readonly path: string; readonly kind: 'block' | 'file'; readonly size: number }
  /**
   * `root` (version 2) identifies the image by its member digests; `sha256` of the
   * whole image is always there in version 1, on request (whole-sha256) in version 2.
   */
  readonly raw: { readonly bytes: number; readonly sha256?: string; readonly root?: string }
  readonly compressed: {
    readonly bytes: number
    readonly codec: Codec
    readonly level: number
    readonly chunkSize: number
  }
  readonly memberFields: typeof MEMBER_FIELDS | typeof MEMBER_FIELDS_V1
  readonly members: readonly MemberEntry[]
  readonly started: string
  readonly ended: string
  readonly durationSeconds: number
  /** Absent in manifests of images taken before verification existed: unverified. */
  readonly verification?: ImageVerification
}

// Serialises with one member per line: readable with `less`, diffable, still JSON.
export function manifestText(m: ImageManifest): string {
  const { members, ...rest } = m
  const head = JSON.stringify(rest, null, 2).slice(0, -2)
  const body = members.map((e) => `    ${JSON.stringify(e)}`).join(',\n')
  return `${head},\n  "members": [\n${body}${members.length ? '\n' : ''}  ]\n}\n`
}

// How the image is identified in messages: the whole SHA-256 when recorded, else the root of the member digests.
export function digestText(d: { readonly sha256?: string; readonly root?: string }): string {
  return d.sha256 !== undefined ? `SHA-256 ${d.sha256}` : `root digest ${d.root}`
}
