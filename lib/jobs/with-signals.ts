import type { EventEmitter } from 'node:events'
import { InterruptedError } from '../errors.js'

// Runs `fn` with an AbortSignal that SIGINT/SIGTERM abort with InterruptedError;
// `signals` is the process, or a test's emitter.
export async function withSignals<T>(
  signals: EventEmitter | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController()
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => () => abort.abort(new InterruptedError(sig))
  const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') }
  for (const [sig, h] of Object.entries(handlers)) signals?.on(sig, h)
  try {
    return await fn(abort.signal)
  } catch (err) {
    throw abort.signal.aborted ? abort.signal.reason : err
  } finally {
    for (const [sig, h] of Object.entries(handlers)) signals?.off(sig, h)
  }
}
