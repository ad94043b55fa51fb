import pino, { type Logger } from 'pino'

// Something that can briefly take the terminal line away from the progress display.
export interface LineOwner {
  clear(): void
  redraw(): void
}

// A destination that writes synchronously, so the last line before process.exit is
// never lost (systemd jobs are short), and that lets a live progress line step aside.
export class LogSink {
  private owner: LineOwner | undefined
  private readonly recent: string[] = []
  private readonly dest: { write(s: string): unknown }
  constructor(dest?: { write(s: string): unknown }) {
    this.dest = dest ?? pino.destination({ dest: 1, sync: true })
  }
  setLineOwner(owner: LineOwner | undefined): void {
    this.owner = owner
  }
  write(line: string): void {
    this.owner?.clear()
    this.dest.write(line)
    this.owner?.redraw()
    this.recent.push(line.trimEnd())
    if (this.recent.length > 20) this.recent.shift()
  }

  // The last log lines, for the body of a failure alert.
  tail(n = 20): string[] {
    return this.recent.slice(-n)
  }
}

// The root logger: pino JSON on stdout, written synchronously through `sink`.
export function createLogger(sink: LogSink, level = 'info'): Logger {
  return pino({ level, base: { name: 'sd-backup' } }, sink)
}

export type { Logger }
