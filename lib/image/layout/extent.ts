// A byte range of the card, [start, end).
export interface Extent {
  readonly start: number
  readonly end: number
}

// Turns sorted runs into merged ones: touching or overlapping extents become one.
export function* mergeExtents(runs: Iterable<Extent>): Generator<Extent> {
  let open: { start: number; end: number } | undefined
  for (const r of runs) {
    if (r.end <= r.start) continue
    if (open && r.start <= open.end) open.end = Math.max(open.end, r.end)
    else {
      if (open) yield open
      open = { start: r.start, end: r.end }
    }
  }
  if (open) yield open
}
