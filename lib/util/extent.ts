// A byte range of the card, [start, end).
export interface Extent {
  readonly start: number
  readonly end: number
  /**
   * Known to hold nothing (an inode table's never-used tail): not read, zeros in
   * the image, but still mapped in the .bmap so a restore writes those zeros.
   */
  readonly zero?: boolean
}
