import { spawn } from 'node:child_process'
import type { Logger } from 'pino'

const KEEP_OUTPUT = 4096

// How a configured command ended: undefined when it succeeded, else why not.
export type CommandFailure = string | undefined

// Runs a before-image/after-image command through /bin/sh (these are the user's
// own shell lines, e.g. 'systemctl stop birdnet_recording'), logs what it printed,
// and stops it after `timeoutSeconds`: a hung command must not hold the card's
// service down forever. Never throws; the caller decides what a failure means.
export function runCommand(
  command: string,
  what: string,
  timeoutSeconds: number,
  log: Logger,
): Promise<CommandFailure> {
  return new Promise((resolve) => {
    const started = Date.now()
    // Its own process group, so a timeout stops the command's children too (they hold the pipes).
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    const keep = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-KEEP_OUTPUT)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      process.kill(-child.pid!, 'SIGKILL')
    }, timeoutSeconds * 1000)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve(`could not start /bin/sh: ${err.message}`)
    })
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      const seconds = (Date.now() - started) / 1000
      const failure = timedOut
        ? `timed out after ${timeoutSeconds} s`
        : status === 0
          ? undefined
          : signal
            ? `killed by ${signal}`
            : `exit status ${status}`
      const fields = { command, seconds, output: output.trim() || undefined }
      if (failure) log.error({ ...fields, failure }, `${what} command failed: ${failure}`)
      else log.info(fields, `${what} command done`)
      resolve(failure)
    })
  })
}
