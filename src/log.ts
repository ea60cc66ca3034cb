import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines with pid (pino's default base), so cluster logs can be told
 * apart. The CLI passes fd 2 so its stdout stays machine-readable.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, fd: 1 | 2 = 1): Logger {
  const options = {
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      // Credentials never reach a log line: headers that carry them, and a
      // password at any of the depths a logged object may hold one.
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
        'password',
        '*.password',
        '*.*.password',
        '*.*.*.password',
      ],
      censor: '[redacted]',
    },
  };
  return fd === 1 ? pino(options) : pino(options, pino.destination({ fd, sync: true }));
}
