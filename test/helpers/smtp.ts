// A real SMTP server (smtp-server, the server half of the nodemailer project)
// on a free port of 127.0.0.1, keeping what it receives: reminders are tested
// against it, never against a mock transport.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  to: string[];
  messageId: string;
  raw: string;
}

export interface TestSmtp {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** `delayMs`: each message is acknowledged that much later, as a slow mail server would (a send then takes a while). */
export async function smtpServer(port = 0, delayMs = 0): Promise<TestSmtp> {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(raw)?.[1] ?? '';
        const accept = () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), messageId, raw });
          done();
        };
        if (delayMs > 0) setTimeout(accept, delayMs);
        else accept();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  // A client killed mid-message (the leader's kill -9 in the failover tests)
  // resets its connection: a mail server carries on with the others.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  });
  const address = (server.server.address() as AddressInfo).port;
  return { port: address, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
