import { isUtf8 } from 'node:buffer'

// File names are bytes: a name that is not valid UTF-8 is copied and recorded as
// it is (a string would turn it into U+FFFD and lose it every day).

export function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return dir.length > 0 && dir[dir.length - 1] === 0x2f
    ? Buffer.concat([dir, name])
    : Buffer.concat([dir, Buffer.from('/'), name])
}

// The manifest's `path` (readable, lossy only for non-UTF-8) and, when needed, `rawPath` (base64 of the bytes).
export function recordedPath(p: Buffer): { path: string; rawPath?: string } {
  const text = p.toString('utf8')
  return isUtf8(p) ? { path: text } : { path: text, rawPath: p.toString('base64') }
}

// rawPath when the name was not UTF-8, else the path: the bytes the station had.
export function pathBytes(e: { readonly path: string; readonly rawPath?: string }): Buffer {
  return e.rawPath !== undefined ? Buffer.from(e.rawPath, 'base64') : Buffer.from(e.path)
}
