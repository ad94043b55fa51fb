// A byte range of the card, [start, end).
export interface Extent {
  readonly start: number
  readonly end: number
}
