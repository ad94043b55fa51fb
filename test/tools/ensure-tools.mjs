#!/usr/bin/env node
// npm's pretest: makes sure the commands the tests run are on this machine. As root
// with apt, installs the missing Debian packages; otherwise prints the one apt-get
// line to run, and the tests that need a missing tool skip, naming it.
// @ts-check
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const { tools } = JSON.parse(readFileSync(new URL('./debian-tools.json', import.meta.url), 'utf8'))
const has = (/** @type {string} */ cmd) => spawnSync('sh', ['-c', `command -v '${cmd}'`]).status === 0
const lacking = () => Object.keys(tools).filter((cmd) => !has(cmd))
const packages = (/** @type {string[]} */ cmds) => [...new Set(cmds.map((c) => tools[c]))].sort()

let missing = lacking()
if (missing.length === 0) process.exit(0)
const line = `apt-get install -y ${packages(missing).join(' ')}`
if (process.getuid?.() === 0 && has('apt-get')) {
  console.log(`pretest: installing the tools the tests use: ${packages(missing).join(' ')}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const run = (/** @type {string[]} */ args) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env })
  // The package lists may be stale or absent on a fresh machine: updated once, first.
  run(['update', '-qq'])
  run(['install', '-y', '-qq', ...packages(missing)])
  missing = lacking()
  if (missing.length === 0) process.exit(0)
  console.log(`pretest: apt-get could not install ${packages(missing).join(' ')}`)
}
console.log(
  `pretest: missing ${missing.join(', ')}: the tests that need them are skipped.\n` +
    `  To run every test: sudo ${line}`,
)
