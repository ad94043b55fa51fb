// What a format gives the image pipeline (docs/DESIGN.md, "Codecs"). An image is a
// sequence of independently decodable members, one per chunk, listed in the manifest;
// each codec says how a chunk is encoded on a worker thread, what frames the encoded
// body, and how one member is decoded and checked. One file per codec, one line in
// registry.ts: the compiler then finds every place that needs it.
export interface ImageCodec {
  /** The name in the config (`compress = NAME`) and in manifests. */
  readonly name: string
  /** What people and flashing tools recognise: .img.gz, .img.zst. */
  readonly imageExtension: string
  readonly levels: { readonly min: number; readonly max: number; readonly default: number }
  /** Defaults chosen from bench/RESULTS.md: benchmark before changing them. */
  readonly defaultChunkSize: number
  /** Below this, independent members lose too much ratio (zstd's window is large). */
  readonly minChunkSize: number
  /** One line for --help: what the format is good for. */
  readonly help: string
  /**
   * A chunk's compressed body, on a worker thread. The body must own its ArrayBuffer
   * from offset 0 (ownCopy otherwise): the thread frees it once copied out.
   */
  encode(data: Buffer, level: number): Promise<EncodedBody>
  /** The most a chunk of n bytes can encode to: the size of the pooled body buffers. */
  bodyBound(n: number): number
  /** The bytes written for one member: what goes around the body (a gzip header and trailer). */
  frame(level: number, body: Buffer, crc32: number, rawLength: number): Buffer[]
  /** Throws RuntimeFeatureError if this runtime cannot run the codec: asked before any worker starts. */
  available?(): void
  /** Decodes one member and checks what the format and the manifest promise, on a worker thread. */
  decode(member: Buffer, want: MemberExpectation): Promise<MemberCheck>
}

export interface EncodedBody {
  readonly body: Buffer
  /** CRC-32 of the raw chunk. */
  readonly crc32: number
}

// What the manifest says about one member.
export interface MemberExpectation {
  readonly rawLength: number
  readonly crc32: number
}

// A member's raw bytes, or why they cannot be trusted (a verify result, not a crash).
export type MemberCheck = { readonly ok: true; readonly raw: Buffer } | { readonly ok: false; readonly reason: string }

// The manifest's length and CRC-32 for a decoded member (any codec).
export function checkAgainstManifest(raw: Buffer, crc: number, want: MemberExpectation): MemberCheck {
  if (raw.length !== want.rawLength)
    return { ok: false, reason: `${raw.length} bytes decoded, the manifest says ${want.rawLength}` }
  if (crc !== want.crc32 >>> 0)
    return { ok: false, reason: `CRC-32 ${hex(crc)} differs from the manifest's ${hex(want.crc32 >>> 0)}` }
  return { ok: true, raw }
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`
}
