// Instants are stored as epoch milliseconds (BIGINT). mysql2 may hand a BIGINT
// back as a string; everything read from the database goes through here.
export function ms(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function msOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : ms(value);
}
