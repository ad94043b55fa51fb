import { LogSink } from '../log/logger.js'

// What a command may touch of the outside world; tests pass their own.
export interface CliIo {
  readonly stdout: { write(s: string): unknown }
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean }
  readonly env: NodeJS.ProcessEnv
  /** Log sink (pino JSON, synchronous); stdout's by default. */
  readonly sink: LogSink
  /** Overrides /etc/sd-backup/sd-backup.conf (tests). */
  readonly defaultConfigPath?: string
  /** Receives SIGINT/SIGTERM; the process by default. */
  readonly signals?: NodeJS.EventEmitter
  /** Where `restore` asks for confirmation; only a terminal is asked. */
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean }
}

// The real process: stdout, stderr, environment and signals.
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    sink: new LogSink(),
    signals: process,
    stdin: process.stdin,
  }
}
