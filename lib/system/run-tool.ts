import { execFile } from 'node:child_process'

export interface ToolResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** The program is not installed (ENOENT from execFile). */
export class ToolMissing extends Error {
  constructor(readonly tool: string) {
    super(`${tool} is not installed`)
  }
}

// Runs a program with its arguments, never through a shell; any exit code is returned,
// for the caller to judge (e2fsck's 1 means "errors corrected").
export function runTool(
  tool: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      args,
      { env: opts.env ?? process.env, signal: opts.signal, maxBuffer: 256 * 2 ** 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null
        if (e?.code === 'ENOENT') return reject(new ToolMissing(tool))
        if (e && typeof e.code !== 'number') return reject(e)
        resolve({ code: typeof e?.code === 'number' ? e.code : 0, stdout, stderr })
      },
    )
  })
}
