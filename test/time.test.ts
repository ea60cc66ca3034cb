// toIso keeps a memo of recent instants: it must answer exactly as
// Date#toISOString does, for repeats, past the memo's size, and for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY, toIso, toIsoOrNull } from '../src/time.js';

test('toIso answers as Date#toISOString, for new instants and repeats, past the size of its memo', () => {
  const start = Date.UTC(2026, 10, 27, 9, 30, 15, 123);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 10_000; i++) {
      const ms = start + i * 7919;
      assert.equal(toIso(ms), new Date(ms).toISOString());
    }
  }
  assert.equal(toIso(0), '1970-01-01T00:00:00.000Z');
  assert.equal(toIso(start - 400 * DAY), '2025-10-23T09:30:15.123Z');
  assert.equal(toIsoOrNull(null), null);
});

test('toIso refuses an instant that is not one, every time', () => {
  for (let i = 0; i < 2; i++) assert.throws(() => toIso(Number.NaN), RangeError);
});
