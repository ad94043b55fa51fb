import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'

// BirdNET-Pi's database wherever a user's home holds one.
export function defaultDatabases(home = '/home'): string[] {
  if (!existsSync(home)) return []
  return readdirSync(home)
    .map((u) => path.join(home, u, 'BirdNET-Pi', 'scripts', 'birds.db'))
    .filter((p) => existsSync(p))
}
