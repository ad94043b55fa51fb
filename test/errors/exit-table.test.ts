import { readFileSync } from 'node:fs'
import t from 'tap'
import {
  EXIT_CODE_HELP,
  EXIT_TABLE,
  exitCodeFor,
  InterruptedError,
  isVerificationFailure,
  ManifestMissingError,
  UsageError,
} from '../../lib/errors.js'

// README's "Exit codes" table: | exit | `CODE` | meaning |, one row per code.
function readmeRows(): string[][] {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = text.slice(text.indexOf('### Exit codes'))
  return section
    .split('\n')
    .filter((l) => /^\| \d+ \|/.test(l))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replaceAll('`', '')),
    )
}

t.test("README's exit table is the code's table, row for row", async (t) => {
  const fromCode = Object.entries(EXIT_TABLE)
    .sort((a, b) => a[1].exit - b[1].exit)
    .map(([code, r]) => [String(r.exit), code, r.help])
  t.same(readmeRows(), fromCode)
})

t.test(
  'an exit number means one thing: codes that share one share a topic, and --help lists each number once',
  async (t) => {
    const exits = EXIT_CODE_HELP.map(([e]) => e)
    t.same(
      exits,
      [...new Set(exits)].sort((a, b) => a - b),
    )
    t.equal(EXIT_CODE_HELP.find(([e]) => e === 2)?.[1], `${EXIT_TABLE.SDB_USAGE.help}; ${EXIT_TABLE.SDB_CONFIG.help}`)
  },
)

t.test('exit codes come from the table: errors, signals, bugs', async (t) => {
  t.equal(exitCodeFor(new UsageError('x')), 2)
  t.equal(exitCodeFor(new InterruptedError('SIGINT')), 130)
  t.equal(exitCodeFor(new InterruptedError('SIGTERM')), 143)
  t.equal(exitCodeFor(new TypeError('bug')), 1)
  t.ok(isVerificationFailure(new ManifestMissingError('a', 'b')))
  t.notOk(isVerificationFailure(new UsageError('x')))
  t.notOk(isVerificationFailure(new Error('x')))
})
