// The SMTP connection reminders go out through: nodemailer, pooled, built
// from SMTP_URL. One per delivery run, closed at its end, so no socket
// outlives the run (and a changed mail server is picked up at the next one).
import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import { SECOND } from '../time.js';

/** Connections kept open to the mail server during a run. */
export const SMTP_CONNECTIONS = 5;

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<...@host>`, fixed per outbox row: a resend is the same message to mail clients. */
  messageId: string;
  /** Content-Language: the recipient's language. */
  language?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** A failure the mail server gave as permanent (5xx): retrying the same message will not help. */
export function isPermanentSmtpFailure(err: unknown): boolean {
  const code = (err as { responseCode?: number } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** What to record of an SMTP failure: the server's answer if it gave one, else the error's message. */
export function smtpErrorText(err: unknown): string {
  const e = err as { response?: string; code?: string; message?: string } | null;
  const text = e?.response ?? e?.message ?? String(err);
  return (e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text).slice(0, 1000);
}

const CONNECT_TIMEOUT = 10 * SECOND;

type SocketCallback = (err: Error | null, options?: { connection: net.Socket }) => void;

/**
 * Opens the TCP connection with Nagle's algorithm off. nodemailer leaves it on,
 * and an SMTP transaction is a few small writes each waiting for an answer: every
 * one then stalls for the peer's delayed ACK (about 40 ms), which held a pooled
 * connection to some 23 messages a second; without the stall it carries
 * hundreds. nodemailer upgrades the socket to TLS itself for smtps.
 */
function connectWithoutDelay(host: string, port: number, callback: SocketCallback): void {
  const socket = net.connect({ host, port, noDelay: true, timeout: CONNECT_TIMEOUT });
  let settled = false;
  const settle = (err: Error | null) => {
    if (settled) return;
    settled = true;
    socket.removeListener('error', settle);
    socket.removeListener('timeout', timedOut);
    if (err) {
      socket.destroy();
      callback(err);
    } else {
      socket.setTimeout(0);
      callback(null, { connection: socket });
    }
  };
  const timedOut = () => settle(Object.assign(new Error(`Connection timeout to ${host}:${port}`), { code: 'ETIMEDOUT' }));
  socket.once('error', settle);
  socket.once('timeout', timedOut);
  socket.once('connect', () => settle(null));
}

export function smtpMailer(smtpUrl: string, from: string): Mailer {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : secure ? 465 : 587;
  const transport: Transporter = nodemailer.createTransport({
    host,
    port,
    secure,
    getSocket: (_options: unknown, callback: SocketCallback) => connectWithoutDelay(host, port, callback),
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    pool: true,
    maxConnections: SMTP_CONNECTIONS,
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: CONNECT_TIMEOUT,
    greetingTimeout: 10 * SECOND,
    socketTimeout: 30 * SECOND,
  });
  return {
    async send(message) {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: message.messageId, headers: message.language ? { 'Content-Language': message.language } : {} });
    },
    close() {
      transport.close();
    },
  };
}
