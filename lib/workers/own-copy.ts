// A copy in a buffer of its own (never Node's shared pool), so it can be transferred
// between threads and freed at once (freeNow).
export function ownCopy(b: Uint8Array): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length)
  c.set(b)
  return c
}
