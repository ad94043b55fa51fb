import nodemailer from 'nodemailer'
import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AlertSettings } from './alert-settings.js'
import type { Mail } from './compose-alert.js'

// Sends one alert, retrying with a doubling delay. Never throws: an alert that
// cannot be sent is logged, and the job's own result and exit code stay as they are.
export async function sendAlert(settings: AlertSettings, mail: Mail, log: Logger): Promise<boolean> {
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.tls,
    ...(settings.user ? { auth: { user: settings.user, pass: settings.password ?? '' } } : {}),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  })
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const info = await transport.sendMail({
          from: settings.from,
          to: [...settings.to],
          subject: mail.subject,
          text: mail.text,
        })
        log.info(
          { alert: mail.subject, to: settings.to, attempt, messageId: info.messageId },
          `alert sent: ${mail.subject}`,
        )
        return true
      } catch (err) {
        const last = attempt >= settings.retries
        log.warn(
          { err, alert: mail.subject, attempt, of: settings.retries },
          `alert not sent (attempt ${attempt} of ${settings.retries}): ${(err as Error).message}`,
        )
        if (last) return false
        await sleep(settings.retryDelayMs * 2 ** (attempt - 1))
      }
    }
  } finally {
    transport.close()
  }
}
