// Connection URLs carry passwords (mysql://user:pass@host, smtp://user:pass@host)
// and sometimes tokens in their query strings. Whatever repeats one in an
// error or a log line repeats it redacted: the scheme, host, port and path
// stay, which is what an operator needs to see which setting is wrong.

/**
 * The URL with its user info and query string (and fragment) replaced by
 * `***`; also for text that does not parse as a URL. A password typed without
 * percent-encoding may itself hold `/`, `?`, `#` or `@`, and such a value is
 * exactly the one a config error repeats: so everything up to the last `@`
 * goes, not only up to the first `/`. Cutting too much only hides a host.
 */
export function redactUrl(raw: string): string {
  const at = raw.lastIndexOf('@');
  const scheme = /^[a-z][a-z0-9+.-]*:(\/\/)?/i.exec(raw)?.[0] ?? '';
  const withoutUser = at === -1 ? raw : `${scheme.length <= at ? scheme : ''}***@${raw.slice(at + 1)}`;
  return withoutUser.replace(/[?#][\s\S]*$/, '?***');
}
