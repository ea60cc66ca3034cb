// Keyset paging: a page is read with limit + 1 rows, and the extra row, when
// there is one, says another page follows; the next page starts after the sort
// key of the last item shown. The HTTP layer turns keys into opaque cursors.

export interface PageRequest<K> {
  limit: number;
  /** The sort key of the last item of the previous page. */
  after?: K;
}

export interface Page<T, K> {
  items: T[];
  /** Where the next page starts; null on the last page. */
  nextCursor: K | null;
}

/** `rows` were read with `limit + 1`. */
export function pageOf<T, K>(rows: T[], limit: number, keyOf: (item: T) => K): Page<T, K> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? keyOf(items[items.length - 1]) : null };
}
