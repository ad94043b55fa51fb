import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import type { Test } from 'tap'

export interface Received {
  readonly from: string
  readonly to: string[]
  readonly raw: string
  readonly subject: string
  /** The text body, quoted-printable decoded, with \n line ends. */
  readonly body: string
}

// Undoes the quoted-printable transfer encoding nodemailer picks for non-ASCII text.
function decodeBody(raw: string): string {
  const [head, ...rest] = raw.split('\r\n\r\n')
  let body = rest.join('\r\n\r\n')
  if (/^Content-Transfer-Encoding: quoted-printable/im.test(head ?? '')) {
    body = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8')
  }
  return body.replace(/\r\n/g, '\n')
}

// A real SMTP server on loopback, closed at teardown. `refuseFirst` connections are
// turned away, to exercise the retries.
export async function smtpServer(
  t: Test,
  refuseFirst = 0,
): Promise<{ port: number; mails: Received[]; connections: () => number }> {
  const mails: Received[] = []
  let connections = 0
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, cb) {
      connections++
      if (connections <= refuseFirst) return cb(new Error('busy, try later'))
      cb()
    },
    onData(stream, session, cb) {
      let raw = ''
      stream.on('data', (d: Buffer) => (raw += d.toString()))
      stream.on('end', () => {
        const subject = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1]?.replace(/\r\n[ \t]/g, ' ') ?? ''
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          subject,
          body: decodeBody(raw),
        })
        cb()
      })
    },
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { port: (server.server.address() as AddressInfo).port, mails, connections: () => connections }
}

// A loopback port with nothing listening: the server is down.
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net')
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
