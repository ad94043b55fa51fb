import path from 'node:path'
import type { Codec } from '../codec/chunk-compressor.js'

// The extension people and flashing tools recognise for each codec.
export const IMAGE_EXTENSION: Record<Codec, string> = { gzip: '.img.gz', zstd: '.img.zst' }

// The calendar date on the station's own clock, which is the date people talk about.
export function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

// Where an image goes: DEST/STATION/images/STATION-YYYY-MM-DD.img.gz, manifest beside it.
export function imagePaths(dest: string, station: string, date: Date, codec: Codec) {
  const dir = path.join(dest, station, 'images')
  const file = path.join(dir, `${station}-${localDate(date)}${IMAGE_EXTENSION[codec]}`)
  return { dir, file, manifest: manifestPathFor(file) }
}

// The manifest of an image file: the proof that the image is complete.
export function manifestPathFor(imageFile: string): string {
  return `${imageFile}.manifest.json`
}

// True for this station's own image names (STATION-YYYY-MM-DD.img.gz or .img.zst).
export function isImageName(name: string, station: string): boolean {
  return name.startsWith(`${station}-`) && /^\d{4}-\d{2}-\d{2}\.img\.(gz|zst)$/.test(name.slice(station.length + 1))
}

// The bmap beside an image: the first name `bmaptool copy IMAGE` looks for.
export function bmapPathFor(imageFile: string): string {
  return `${imageFile}.bmap`
}
