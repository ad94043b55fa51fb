import { EventEmitter } from 'node:events'
import { PassThrough } from 'node:stream'
import type { CliIo } from '../../lib/cli/cli-io.js'
import { main } from '../../lib/cli/main.js'
import { LogSink } from '../../lib/log/logger.js'

// Runs the CLI in-process with captured output; `tty` makes stderr look like a terminal.
export async function runCli(
  argv: string[],
  opts: {
    env?: NodeJS.ProcessEnv
    tty?: boolean
    defaultConfigPath?: string
    signals?: EventEmitter
    stdin?: string
  } = {},
) {
  let stdout = ''
  let stderr = ''
  const logs: Array<Record<string, unknown>> = []
  const err = new PassThrough() as PassThrough & { isTTY?: boolean }
  err.isTTY = opts.tty ?? false
  err.on('data', (d: Buffer) => (stderr += d.toString()))
  // A terminal that types `stdin` when asked.
  const input = opts.stdin === undefined ? undefined : Object.assign(new PassThrough(), { isTTY: true })
  input?.end(opts.stdin)
  const io: CliIo = {
    ...(input ? { stdin: input } : {}),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: err,
    env: opts.env ?? {},
    sink: new LogSink({ write: (s: string) => logs.push(JSON.parse(s) as Record<string, unknown>) }),
    defaultConfigPath: opts.defaultConfigPath ?? '/nonexistent/sd-backup.conf',
    signals: opts.signals ?? new EventEmitter(),
  }
  const code = await main(argv, io)
  return { code, stdout, stderr, logs }
}
