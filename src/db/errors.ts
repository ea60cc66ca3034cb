// Driver errors translated once, so domain code never parses driver codes.
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A row referring to one that is gone: the parent was deleted meanwhile. */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ER_NO_REFERENCED_ROW_2' || code === 'ER_NO_REFERENCED_ROW' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * A value the column cannot hold, in MySQL/MariaDB's strict mode (SQLite does
 * not enforce lengths): ER_DATA_TOO_LONG ("Data too long for column 'body' at
 * row 1"), or ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, which MariaDB answers when the
 * cut would fall inside a multi-byte character ("Incorrect string value: ...
 * for column `db`.`submissions`.`body` at row 1") and for characters outside
 * the column's character set. Returns the column and what to say, else undefined.
 */
export function unstorableValue(err: unknown): { column: string; message: string } | undefined {
  const e = err as { code?: string; sqlMessage?: string; message?: string } | null;
  let message: string;
  if (e?.code === 'ER_DATA_TOO_LONG') message = 'is too long to store';
  else if (e?.code === 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD') message = 'is too long or has characters that cannot be stored';
  else return undefined;
  const column = /for column (?:`[^`]*`\.`[^`]*`\.)?[`']([^`']+)[`']/.exec(e?.sqlMessage ?? e?.message ?? '')?.[1] ?? 'body';
  return { column, message };
}

/** Network-level failures and pool timeouts: the database is away, not the query wrong. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN']);

/** True when the database cannot be reached right now (worth a 503 and a retry, not a 500). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; fatal?: boolean } | null;
  if (!e) return false;
  // knex gives up waiting for a pool connection with a KnexTimeoutError.
  return (e.code !== undefined && UNAVAILABLE_CODES.has(e.code)) || e.name === 'KnexTimeoutError' || e.fatal === true;
}
