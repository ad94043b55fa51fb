import type { ImageCodec } from './codec.js'
import { gzip } from './gzip.js'
import { zstd } from './zstd.js'

// Every image format, by its config and manifest name. A new codec is one file
// beside this one and one line here (docs/DESIGN.md, "Codecs").
export const CODECS = {
  gzip,
  zstd,
} as const satisfies Record<string, ImageCodec>

export type Codec = keyof typeof CODECS

export const CODEC_NAMES = Object.keys(CODECS) as Codec[]

export function isCodec(name: unknown): name is Codec {
  return typeof name === 'string' && Object.hasOwn(CODECS, name)
}

// The codec of an image file, from its name (.img.gz, .img.zst); undefined for any other name.
export function codecForImageName(name: string): Codec | undefined {
  return CODEC_NAMES.find((c) => name.endsWith(CODECS[c].imageExtension))
}
