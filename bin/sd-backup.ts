#!/usr/bin/env node
import { main } from '../lib/cli/main.js'
import { processIo } from '../lib/cli/cli-io.js'

// argv → main() → one exit. Logs are written synchronously, so nothing is lost here.
process.exit(await main(process.argv.slice(2), processIo()))
