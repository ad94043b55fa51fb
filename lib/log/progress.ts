import type { Logger } from 'pino'
import type { LineOwner } from './logger.js'
import { formatBytes, formatDuration } from '../util/size.js'

// What a person watching (or the journal) needs to know mid-run.
export interface ProgressSnapshot {
  readonly percent: number
  readonly bytesRead: number
  readonly totalBytes: number
  readonly mibPerSec: number
  readonly savedPercent: number
  readonly etaSeconds: number | undefined
  readonly elapsedSeconds: number
}

export interface ProgressOptions {
  /** A terminal to draw one live line on (stderr), or undefined for log lines. */
  readonly tty: NodeJS.WritableStream | undefined
  readonly log: Logger
  readonly intervalSeconds: number
  readonly now?: () => number
  /** What is being counted, when not the image being read ('verify', 'restore'). */
  readonly label?: string
}

// Counts bytes read and written; draws a live line on a terminal, or writes a log
// line every `intervalSeconds` elsewhere (journald keeps those, not the redraws).
export class Progress implements LineOwner {
  private read = 0
  private rawDone = 0
  private outDone = 0
  private readonly started: number
  private timer: NodeJS.Timeout | undefined
  private drawn = false

  constructor(
    readonly total: number,
    private readonly opts: ProgressOptions,
  ) {
    this.started = this.now()
  }

  start(): void {
    const { tty, intervalSeconds } = this.opts
    this.timer = tty ? setInterval(() => this.redraw(), 250) : setInterval(() => this.logLine(), intervalSeconds * 1000)
    this.timer.unref()
  }

  addRead(n: number): void {
    this.read += n
  }

  addCompressed(raw: number, out: number): void {
    this.rawDone += raw
    this.outDone += out
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.clear()
  }

  snapshot(): ProgressSnapshot {
    const elapsed = Math.max(1e-3, (this.now() - this.started) / 1000)
    const rate = this.read / elapsed
    return {
      // In used-block mode the total is an estimate a live filesystem can outgrow.
      percent: this.total === 0 ? 100 : Math.min(100, (100 * this.read) / this.total),
      bytesRead: this.read,
      totalBytes: this.total,
      mibPerSec: rate / 2 ** 20,
      savedPercent: this.rawDone === 0 ? 0 : 100 * (1 - this.outDone / this.rawDone),
      etaSeconds: rate > 0 ? Math.max(0, this.total - this.read) / rate : undefined,
      elapsedSeconds: elapsed,
    }
  }

  // "42.0 %  100.0 GiB / 238.3 GiB  65.1 MiB/s  saved 83.2 %  ETA 36 min 10 s"
  line(): string {
    const s = this.snapshot()
    const eta = s.etaSeconds === undefined ? '--' : formatDuration(s.etaSeconds)
    return (
      (this.opts.label ? `${this.opts.label} ` : '') +
      `${s.percent.toFixed(1).padStart(5)} %  ${formatBytes(s.bytesRead)} / ${formatBytes(s.totalBytes)}  ` +
      `${s.mibPerSec.toFixed(1)} MiB/s  ${this.rawDone > 0 ? `saved ${s.savedPercent.toFixed(1)} %  ` : ''}ETA ${eta}`
    )
  }

  clear(): void {
    if (this.drawn) this.opts.tty?.write('\r\x1b[K')
    this.drawn = false
  }

  redraw(): void {
    if (!this.opts.tty || this.timer === undefined) return
    this.opts.tty.write(`\r\x1b[K${this.line()}`)
    this.drawn = true
  }

  logLine(): void {
    this.opts.log.info({ progress: this.snapshot() }, this.opts.label ? `${this.opts.label} progress` : 'progress')
  }

  private now(): number {
    return (this.opts.now ?? Date.now)()
  }
}
