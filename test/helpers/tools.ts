import { readFileSync } from 'node:fs'
import type { Test } from 'tap'
import { has } from './image.js'

const { tools } = JSON.parse(readFileSync(new URL('../tools/debian-tools.json', import.meta.url), 'utf8')) as {
  tools: Record<string, string>
}

// SDB_TEST_WITHOUT=a,b makes the listed tools count as missing: to see the skips on a full machine.
const pretend = () => new Set((process.env.SDB_TEST_WITHOUT ?? '').split(',').filter(Boolean))

/** Why the tests that run `needed` cannot run here, or '' when every one is installed. */
export function missingTools(...needed: string[]): string {
  const lacking = needed.filter((cmd) => pretend().has(cmd) || !has(cmd))
  if (lacking.length === 0) return ''
  const packages = [...new Set(lacking.map((cmd) => tools[cmd] ?? cmd))].sort()
  return `needs ${lacking.join(', ')} (apt-get install ${packages.join(' ')})`
}

// The file's t.test, skipping each test (with the tool named) when a tool it runs is missing.
export function withTools(t: Test, ...needed: string[]): Test['test'] {
  for (const cmd of needed) if (!(cmd in tools)) throw new Error(`${cmd} is not in test/tools/debian-tools.json`)
  const skip = missingTools(...needed)
  if (!skip) return t.test.bind(t)
  return ((name: string) => t.test(name, { skip }, () => {})) as unknown as Test['test']
}
