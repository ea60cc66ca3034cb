// The sign-in rate limit: at most 10 failed attempts per account, and 100 per
// client address, within 15 minutes, counted across every worker (and, with
// LEADER_ELECTION=db, every host). So that someone guessing cannot lock the
// owner out (a targeted lockout), an address that signed in to the account
// before (known-addresses.ts) has 10 of its own: failures from elsewhere,
// however many addresses they come from, share the account's one count, and
// leave the owner's known addresses trying. rate-limiter-flexible keeps the
// counters:
//
// - one host (LEADER_ELECTION=lockfile): its cluster store. The primary holds
//   the counters in memory (RateLimiterClusterMaster, made once before the
//   workers fork) and each worker asks it over the cluster IPC channel.
// - several hosts (LEADER_ELECTION=db): the shared database, through the
//   library's MySQL store (which takes our knex instance and its mysql2 pool)
//   or its SQLite store (knex with better-sqlite3), in the `sign_in_limits`
//   table that a migration creates.
// - outside a cluster (in-process tests, scripts): memory.
import cluster from 'node:cluster';
import net from 'node:net';
import { createHash, createHmac } from 'node:crypto';
import type { Knex } from 'knex';
import { databaseKnownAddresses, memoryKnownAddresses, type KnownAddresses } from './known-addresses.js';
import {
  RateLimiterCluster,
  RateLimiterClusterMaster,
  RateLimiterMemory,
  RateLimiterMySQL,
  RateLimiterRes,
  RateLimiterSQLite,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export const SIGN_IN_WINDOW_SECONDS = 15 * 60;
export const ATTEMPTS_PER_ACCOUNT = 10;
export const ATTEMPTS_PER_ADDRESS = 100;
export const SIGN_IN_LIMITS_TABLE = 'sign_in_limits';

/** The two counters; each limiter needs a keyPrefix of its own (the cluster store tells them apart by it). */
export interface SignInLimiters {
  /** The account's failures from every address that never signed in to it. */
  account: RateLimiterAbstract;
  /** The account's failures from one address that signed in to it before. */
  accountAtKnown: RateLimiterAbstract;
  address: RateLimiterAbstract;
}

export type SignInVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const OPTIONS = {
  account: { keyPrefix: 'sign-in-account', points: ATTEMPTS_PER_ACCOUNT, duration: SIGN_IN_WINDOW_SECONDS },
  accountAtKnown: { keyPrefix: 'sign-in-account-known', points: ATTEMPTS_PER_ACCOUNT, duration: SIGN_IN_WINDOW_SECONDS },
  address: { keyPrefix: 'sign-in-address', points: ATTEMPTS_PER_ADDRESS, duration: SIGN_IN_WINDOW_SECONDS },
} as const;

/** The account as typed, normalised like the users table and hashed: no email is kept in the counters. */
function accountKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

/** The account's counter at one known address: failures elsewhere do not count here. */
function accountAtAddress(email: string, address: string): string {
  return `${accountKey(email)}@${addressKey(address)}`;
}

/**
 * The address as counted: an IPv6 client is counted by its /64, the block
 * one subscriber or host is usually given (it can pick any of its 2^64
 * addresses at will); an IPv4 address, also one mapped into IPv6, as itself.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (net.isIPv6(address)) return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
  return address;
}

/** The eight groups of an IPv6 address, in lower case without leading zeros ("::" expanded; a zone dropped). */
function ipv6Groups(address: string): string[] {
  const [head, tail = ''] = address.split('%')[0].toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16)));
}

/** What a counter is stored under: the key itself, or (in a shared database) its HMAC. */
type KeyOf = (key: string) => string;

export class SignInLimits {
  private readonly stored: KeyOf;

  /** `hmacKey`: the counters' keys are stored as HMAC-SHA256 under it (the database store: no address or email hash an attacker could invert from a dump). */
  constructor(
    private readonly limiters: SignInLimiters,
    hmacKey?: string,
    private readonly known: KnownAddresses = memoryKnownAddresses(),
  ) {
    this.stored = hmacKey ? (key) => createHmac('sha256', hmacKey).update(key).digest('hex') : (key) => key;
  }

  /**
   * Counts one attempt against the account and the address, before the
   * password is checked, so concurrent attempts on several workers cannot
   * slip past the limit. Refused once either is over its limit; the wait is
   * until the older window ends. A failure of the store itself is thrown.
   */
  async attempt(email: string, address: string): Promise<SignInVerdict> {
    const known = await this.known.has(accountKey(email), addressKey(address));
    const account = known ? this.limiters.accountAtKnown.consume(this.stored(accountAtAddress(email, address))) : this.limiters.account.consume(this.stored(accountKey(email)));
    const results = await Promise.allSettled([account, this.limiters.address.consume(this.stored(addressKey(address)))]);
    let refused = false;
    let waitMs = 0;
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      if (!(result.reason instanceof RateLimiterRes)) throw result.reason;
      refused = true;
      waitMs = Math.max(waitMs, result.reason.msBeforeNext);
    }
    return refused ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) } : { allowed: true };
  }

  /**
   * A successful sign-in: the address is known to the account from now on,
   * its count starts afresh (and the shared one too, when it was a stranger
   * until now), and the attempt does not count against the address.
   */
  async succeeded(email: string, address: string): Promise<void> {
    await Promise.all([
      this.known.remember(accountKey(email), addressKey(address)),
      this.limiters.account.delete(this.stored(accountKey(email))),
      this.limiters.accountAtKnown.delete(this.stored(accountAtAddress(email, address))),
      this.limiters.address.reward(this.stored(addressKey(address)), 1),
    ]);
  }
}

/** In-process counters: tests, and a server run outside the cluster. Known addresses in memory too unless given. */
export function memorySignInLimits(known?: KnownAddresses): SignInLimits {
  const counters = { account: new RateLimiterMemory(OPTIONS.account), accountAtKnown: new RateLimiterMemory(OPTIONS.accountAtKnown), address: new RateLimiterMemory(OPTIONS.address) };
  return new SignInLimits(counters, undefined, known);
}

/** In a cluster worker: the counters live in the primary (see startSignInLimitsInPrimary); the known addresses in the database, for every worker. */
export function clusterSignInLimits(known: KnownAddresses): SignInLimits {
  const counters = {
    account: new RateLimiterCluster({ ...OPTIONS.account, timeoutMs: 5000 }),
    accountAtKnown: new RateLimiterCluster({ ...OPTIONS.accountAtKnown, timeoutMs: 5000 }),
    address: new RateLimiterCluster({ ...OPTIONS.address, timeoutMs: 5000 }),
  };
  return new SignInLimits(counters, undefined, known);
}

/** Once, in the cluster primary, before it forks: what clusterSignInLimits() in the workers talk to. */
export function startSignInLimitsInPrimary(): void {
  new RateLimiterClusterMaster();
}

function mysqlDatabaseName(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
}

/**
 * The counters in the shared database, for several hosts. The migration made
 * the table (workers would race to create it), and expired rows are removed
 * here rather than by the library's timer, whose SQLite variant would end the
 * process with an unhandled rejection when a cleanup fails.
 */
export function databaseSignInLimits(db: Knex, databaseUrl: string, hmacKey: string): SignInLimits {
  const mysql = databaseUrl.startsWith('mysql://');
  const make = (options: (typeof OPTIONS)[keyof typeof OPTIONS]) => {
    const common = { ...options, storeClient: db, storeType: 'knex', tableName: SIGN_IN_LIMITS_TABLE, tableCreated: true, clearExpiredByTimeout: false };
    return mysql ? new RateLimiterMySQL({ ...common, dbName: mysqlDatabaseName(databaseUrl) }) : new RateLimiterSQLite(common);
  };
  const sweep = setInterval(() => {
    db(SIGN_IN_LIMITS_TABLE)
      .where('expire', '<', Date.now())
      .delete()
      .catch(() => {
        /* the next sweep tries again; expired rows count for nothing meanwhile */
      });
  }, 10 * 60 * 1000);
  sweep.unref();
  const counters = { account: make(OPTIONS.account), accountAtKnown: make(OPTIONS.accountAtKnown), address: make(OPTIONS.address) };
  return new SignInLimits(counters, hmacKey, databaseKnownAddresses(db, hmacKey));
}

/** Where a worker keeps its counters, from LEADER_ELECTION and whether it runs in a cluster. */
export function signInLimitsFor(config: { leaderElection: 'lockfile' | 'db'; databaseUrl: string }, db: Knex, hmacKey: string): SignInLimits {
  if (config.leaderElection === 'db') return databaseSignInLimits(db, config.databaseUrl, hmacKey);
  const known = databaseKnownAddresses(db, hmacKey);
  return cluster.isWorker ? clusterSignInLimits(known) : memorySignInLimits(known);
}
