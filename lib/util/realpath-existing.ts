import { realpath } from 'node:fs/promises'
import path from 'node:path'

// realpath of the path or, when it does not exist yet, of its nearest existing parent.
export async function realpathExisting(p: string): Promise<string> {
  let cur = path.resolve(p)
  const rest: string[] = []
  for (;;) {
    try {
      return path.join(await realpath(cur), ...rest)
    } catch (err) {
      const parent = path.dirname(cur)
      if (parent === cur) throw err
      rest.unshift(path.basename(cur))
      cur = parent
    }
  }
}
