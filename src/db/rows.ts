// Instants (epoch milliseconds), ids and terms are stored as BIGINT; mysql2
// may hand a BIGINT back as a string. Every such value read from the database
// goes through here.
export function numberFromDb(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function numberFromDbOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : numberFromDb(value);
}
