import { createInterface } from 'node:readline'
import type { CliIo } from './cli-io.js'

// Asks on the terminal and returns true only for the answer "yes". Without a
// terminal there is nobody to ask: undefined, and the caller refuses (use --yes).
export async function askYes(io: CliIo, question: string): Promise<boolean | undefined> {
  if (!io.stdin?.isTTY) return undefined
  io.stderr.write(question)
  const rl = createInterface({ input: io.stdin, terminal: false })
  try {
    const line = await new Promise<string>((resolve) => {
      rl.once('line', resolve)
      rl.once('close', () => resolve(''))
    })
    return line.trim().toLowerCase() === 'yes'
  } finally {
    rl.close()
  }
}
