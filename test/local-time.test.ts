import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLocal, localInputToUtcMs, utcMsToLocalInput } from '../src/http/local-time.js';

function utc(value: string, zone: string): string {
  const result = localInputToUtcMs(value, zone);
  if (!result.ok) throw new Error(`${value} in ${zone}: ${result.message}`);
  return new Date(result.ms).toISOString();
}

describe('local time in a course zone', () => {
  test('plain wall times become UTC with the offset in force that day', () => {
    assert.equal(utc('2027-01-15T09:00', 'Europe/Berlin'), '2027-01-15T08:00:00.000Z');
    assert.equal(utc('2027-07-15T09:00', 'Europe/Berlin'), '2027-07-15T07:00:00.000Z');
    assert.equal(utc('2027-07-15T09:00', 'America/New_York'), '2027-07-15T13:00:00.000Z');
    assert.equal(utc('2027-07-15T09:00:30.250', 'UTC'), '2027-07-15T09:00:30.250Z');
  });

  test('a time skipped by spring forward is refused, not shifted', () => {
    for (const [value, zone] of [
      ['2027-03-28T02:30', 'Europe/Berlin'],
      ['2027-03-28T02:00', 'Europe/Berlin'],
      ['2027-03-14T02:30', 'America/New_York'],
    ]) {
      const result = localInputToUtcMs(value, zone);
      assert.equal(result.ok, false, `${value} ${zone}`);
      assert.match(!result.ok ? result.message : '', new RegExp(`does not exist in ${zone}`));
    }
    // The minutes either side of the gap are real.
    assert.equal(utc('2027-03-28T01:59', 'Europe/Berlin'), '2027-03-28T00:59:00.000Z');
    assert.equal(utc('2027-03-28T03:00', 'Europe/Berlin'), '2027-03-28T01:00:00.000Z');
    assert.equal(utc('2027-03-14T03:00', 'America/New_York'), '2027-03-14T07:00:00.000Z');
  });

  test('an ambiguous fall-back time picks the earlier instant', () => {
    // 02:30 happens twice in Berlin: first at +02:00 (00:30Z), then at +01:00 (01:30Z).
    assert.equal(utc('2027-10-31T02:30', 'Europe/Berlin'), '2027-10-31T00:30:00.000Z');
    // 01:30 happens twice in New York: first at -04:00 (05:30Z), then at -05:00 (06:30Z).
    assert.equal(utc('2027-11-07T01:30', 'America/New_York'), '2027-11-07T05:30:00.000Z');
    assert.equal(utc('2027-10-31T03:00', 'Europe/Berlin'), '2027-10-31T02:00:00.000Z');
  });

  test('empty, malformed and impossible values get a message', () => {
    const message = (value: string) => {
      const result = localInputToUtcMs(value, 'Europe/Berlin');
      return result.ok ? 'ok' : result.message;
    };
    assert.equal(message(''), 'is required');
    assert.match(message('next tuesday'), /must be a date and time/);
    assert.match(message('2027-03-12T09:00Z'), /must be a date and time/);
    assert.equal(message('2027-02-30T09:00'), 'is not a real date and time');
    assert.equal(message('2027-03-12T24:00'), 'is not a real date and time');
  });

  test('utc -> local input -> utc round-trips, across both DST changes', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Kolkata'];
    const instants = [
      '2027-03-28T00:59:00.000Z',
      '2027-03-28T01:00:00.000Z',
      '2027-10-31T00:30:00.000Z', // the earlier of Berlin's two 02:30s
      '2027-03-14T07:00:00.000Z',
      '2027-11-07T05:30:00.000Z', // the earlier of New York's two 01:30s
      '2027-06-01T12:34:56.789Z',
    ];
    for (const zone of zones) {
      for (const instant of instants) {
        const local = utcMsToLocalInput(Date.parse(instant), zone);
        assert.equal(utc(local, zone), instant, `${instant} in ${zone} via ${local}`);
      }
    }
    assert.equal(utcMsToLocalInput(Date.parse('2027-03-12T08:00:00Z'), 'Europe/Berlin'), '2027-03-12T09:00');
  });

  test('display names the local time and the zone', () => {
    assert.equal(formatLocal(Date.parse('2027-03-12T08:00:00Z'), 'Europe/Berlin'), '12 Mar 2027, 09:00 (Europe/Berlin)');
    assert.equal(formatLocal(Date.parse('2027-11-07T06:30:00Z'), 'America/New_York'), '7 Nov 2027, 01:30 (America/New_York)');
  });
});
