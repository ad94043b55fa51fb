const BLOCK = 4096
const ZERO_BLOCK = Buffer.alloc(BLOCK)

// The runs of 4 KiB blocks that are not all zeros, as [start, end) pairs: what a
// sparse restore writes (the rest become holes).
export function nonZeroExtents(raw: Uint8Array): number[] {
  const out: number[] = []
  for (let at = 0; at < raw.length; at += BLOCK) {
    const end = Math.min(raw.length, at + BLOCK)
    const zero =
      end - at === BLOCK ? ZERO_BLOCK.equals(raw.subarray(at, end)) : raw.subarray(at, end).every((b) => b === 0)
    if (zero) continue
    if (out.length && out[out.length - 1] === at) out[out.length - 1] = end
    else out.push(at, end)
  }
  return out
}
