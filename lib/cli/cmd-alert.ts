import os from 'node:os'
import { resolveAlertSettings } from '../alert/alert-settings.js'
import { sendAlert } from '../alert/send-alert.js'
import { ALERT_COMMAND_OPTIONS, settingOr } from '../config/options.js'
import { AlertNotSentError, ConfigError, type ExitName, UsageError } from '../errors.js'
import { createLogger } from '../log/logger.js'
import { VERSION } from '../version.js'
import type { CliIo } from './cli-io.js'
import { ANY_COMMAND } from './exit-groups.js'
import { commandSettings, exitCodeLines, stationOf } from './common.js'
import { optionHelp } from './parse-flags.js'

// The outcomes this command can end with, for its --help.
const EXITS: readonly ExitName[] = [...ANY_COMMAND, 'SDB_ALERT_NOT_SENT']

export const ALERT_HELP = `Usage: sd-backup alert --test [options]

Sends a test alert with the mail settings every job uses, so you know failures
will reach you. Jobs mail on every failure, on success for the jobs in
mail-on-success (default: image), and whenever a kind has had no successful
backup for longer than its max-age-* (a timer that silently stopped). A mail
that cannot be sent is retried (mail-retries, mail-retry-delay) and logged; it
never changes a job's result.

Options (each is also a config key):
  --config FILE              config file [$SD_BACKUP_CONFIG, /etc/sd-backup/sd-backup.conf]
${optionHelp(ALERT_COMMAND_OPTIONS)}
  -h, --help                 this text

Exit codes:
${exitCodeLines(EXITS)}
`

// `sd-backup alert --test`: one mail through the configured server, result as exit code.
export async function cmdAlert(args: readonly string[], io: CliIo): Promise<number> {
  const got = await commandSettings(args, ALERT_COMMAND_OPTIONS, ALERT_HELP, io, 'alert')
  if (!got) return 0
  const { s } = got
  if (!settingOr(s, 'test')) throw new UsageError('nothing to do: pass --test to send a test alert (see --help)')
  const alerts = resolveAlertSettings(s)
  if (!alerts) throw new ConfigError('smtp-host', 'no alerts are configured: set smtp-host and mail-to')
  const station = stationOf(s)
  const log = createLogger(io.sink).child({ job: 'alert', station })
  const sent = await sendAlert(
    alerts,
    {
      subject: `[sd-backup] ${station} alert: TEST`,
      text:
        `A test alert from sd-backup ${VERSION} on ${os.hostname()} (station ${station}).\nIf you read ` +
        `this, failures will reach you too.\n`,
    },
    log,
  )
  if (!sent) throw new AlertNotSentError(alerts.host, alerts.port)
  io.stderr.write(`test alert sent to ${alerts.to.join(', ')}\n`)
  return 0
}
