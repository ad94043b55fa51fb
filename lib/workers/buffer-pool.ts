// A hard cap on chunk buffers alive at once: the memory bound of the image pipeline,
// whatever the card size and however slow the NAS. Buffers own their ArrayBuffer
// (never Node's shared pool) so they can be transferred to a worker and back.
export class BufferPool {
  private readonly free: Buffer[] = []
  private readonly waiters: Array<(b: Buffer) => void> = []
  private allocated = 0
  /** Most buffers ever checked out at once, for tests and the bench. */
  peakInUse = 0
  private inUse = 0

  constructor(
    readonly size: number,
    readonly limit: number,
  ) {}

  // Resolves with a buffer as soon as one is free or may still be allocated.
  acquire(): Promise<Buffer> {
    const b = this.free.pop() ?? (this.allocated < this.limit ? this.allocate() : undefined)
    if (b) return Promise.resolve(this.checkout(b))
    return new Promise((resolve) => this.waiters.push((buf) => resolve(this.checkout(buf))))
  }

  // Returns a buffer, or any view of its memory (a transferred-back ArrayBuffer).
  release(buf: Buffer): void {
    this.inUse--
    const b = Buffer.from(buf.buffer, 0, this.size)
    const waiter = this.waiters.shift()
    if (waiter) waiter(b)
    else this.free.push(b)
  }

  private allocate(): Buffer {
    this.allocated++
    return Buffer.allocUnsafeSlow(this.size)
  }

  private checkout(b: Buffer): Buffer {
    this.inUse++
    if (this.inUse > this.peakInUse) this.peakInUse = this.inUse
    return b
  }
}
