// Mail and links (SMTP_URL, MAIL_FROM, PUBLIC_URL), read for config.ts: each
// bad value's error names the variable and repeats the value redacted.
import { redactUrl } from './redact.js';

export interface MailSettings {
  /** Carries the password: repeat it only through redactUrl. */
  smtpUrl: string | undefined;
  from: string;
}

export const DEFAULT_MAIL_FROM = 'Coursework <no-reply@localhost>';

export interface MailAndLinks {
  /** SMTP_URL, MAIL_FROM: reminders are also emailed when set (smtp:// or smtps://); unset: in-app only. */
  mail: MailSettings;
  /** PUBLIC_URL (default http://localhost:<PORT>), without a trailing slash: what links in emails and feeds point to. */
  publicUrl: string;
}

type Env = Record<string, string | undefined>;

export function mailAndLinks(env: Env, port: number, fail: (message: string) => Error): MailAndLinks {
  const smtp = env.SMTP_URL?.trim() || undefined;
  const problem = smtp === undefined ? null : smtpUrlProblem(smtp);
  if (smtp !== undefined && problem) throw fail(`Expected SMTP_URL to be ${problem}, got "${redactUrl(smtp)}"`);
  const rawPublic = env.PUBLIC_URL?.trim() || `http://localhost:${port}`;
  const checked = checkPublicUrl(rawPublic);
  if ('problem' in checked) throw fail(`Expected PUBLIC_URL to be ${checked.problem}, got "${redactUrl(rawPublic)}"`);
  return { mail: { smtpUrl: smtp, from: env.MAIL_FROM?.trim() || DEFAULT_MAIL_FROM }, publicUrl: checked.url };
}

/** What is wrong with an SMTP_URL, or null when it is one. */
export function smtpUrlProblem(raw: string): string | null {
  const expected = 'smtp://user:pass@host:port or smtps://...';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return expected;
  }
  return (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '' ? expected : null;
}

/** PUBLIC_URL without its trailing slash, or what is wrong with it. */
export function checkPublicUrl(raw: string): { url: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'an http(s) URL such as https://coursework.example.org' };
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    return { problem: 'an http(s) URL without query, fragment or user' };
  }
  return { url: url.toString().replace(/\/+$/, '') };
}

/**
 * A mysql:// URL that parses, with a host. One that does not (a password with
 * `#`, `/` or `?` not percent-encoded) is refused at start, naming
 * DATABASE_URL: the driver would fail later with a bare "Invalid URL" whose
 * error object carries the raw value, password and all.
 */
export function isMysqlUrl(raw: string): boolean {
  if (!raw.startsWith('mysql://')) return false;
  try {
    return new URL(raw).hostname !== '';
  } catch {
    return false;
  }
}
