// Connection URLs carry passwords (mysql://user:pass@host, smtp://user:pass@host)
// and sometimes tokens in their query strings. Whatever repeats one in an
// error or a log line repeats it redacted: the scheme, host, port and path
// stay, which is what an operator needs to see which setting is wrong.

/** The URL with its user info and query string replaced by `***`; also for text that does not parse as a URL. */
export function redactUrl(raw: string): string {
  return raw.replace(/(\/\/)[^/?#]*@/, '$1***@').replace(/\?[^#]*/, '?***');
}
