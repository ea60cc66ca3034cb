// The addresses each account has signed in from, so that failures elsewhere
// cannot lock its owner out (a targeted lockout): an attempt from an address
// that signed in to the account before is counted on that address's own
// counter, any other on the account's shared one (sign-in-limits.ts). Only a
// correct password adds an address, so an attacker cannot make theirs known.
//
// Kept in the database, shared by every worker and host, and keyed by an HMAC
// of account and address (a key derived from the session secret): a dump
// shows neither emails nor client addresses.
import { createHmac } from 'node:crypto';
import type { Knex } from 'knex';

export const KNOWN_ADDRESSES_TABLE = 'sign_in_known_addresses';
/** An address not signed in from for this long is a stranger again. */
export const KNOWN_FOR_MS = 90 * 24 * 60 * 60 * 1000;

interface KnownAddressRow {
  key: string;
  last_signed_in_at: number;
}

export interface KnownAddresses {
  /** `account` and `address` as the counters key them (normalised, the address by its /64). */
  has(account: string, address: string): Promise<boolean>;
  remember(account: string, address: string): Promise<void>;
}

/** In-process: tests, and a server run outside the cluster without a database of its own. */
export function memoryKnownAddresses(): KnownAddresses {
  const seen = new Map<string, number>();
  const key = (account: string, address: string) => `${account}@${address}`;
  return {
    has: (account, address) => Promise.resolve((seen.get(key(account, address)) ?? 0) > Date.now() - KNOWN_FOR_MS),
    remember: (account, address) => {
      seen.set(key(account, address), Date.now());
      return Promise.resolve();
    },
  };
}

/** In the database (both dialects): one row per account and address, its key an HMAC under `hmacKey`. */
export function databaseKnownAddresses(db: Knex, hmacKey: string): KnownAddresses {
  const key = (account: string, address: string) => createHmac('sha256', hmacKey).update(`${account}@${address}`).digest('hex');
  return {
    async has(account, address) {
      const row = await db<KnownAddressRow>(KNOWN_ADDRESSES_TABLE).where({ key: key(account, address) }).where('last_signed_in_at', '>', Date.now() - KNOWN_FOR_MS).first('key');
      return row !== undefined;
    },
    async remember(account, address) {
      await db<KnownAddressRow>(KNOWN_ADDRESSES_TABLE).insert({ key: key(account, address), last_signed_in_at: Date.now() }).onConflict('key').merge(['last_signed_in_at']);
    },
  };
}
