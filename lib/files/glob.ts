// Shell-style globs for --exclude: `*` within a name, `**` across directories, `?`
// one character. Small and exact, instead of Node's still-experimental matchesGlob.
export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/'
      re += slash ? '(?:.*/)?' : '.*'
      i += slash ? 2 : 1
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

// True when an absolute path, or any directory above it, matches one of the globs.
export function excluded(absPath: string, globs: readonly RegExp[]): boolean {
  return globs.some((g) => g.test(absPath))
}
