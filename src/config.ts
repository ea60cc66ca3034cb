// The one place that reads process.env. Every value is validated here so a
// typo fails at start with the variable's name, not later inside a timer.
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { IANAZone } from 'luxon';
import cronParser from 'cron-parser';
import { MINUTE, SECOND } from './time.js';
import { redactUrl } from './redact.js';
import { mailAndLinks, isMysqlUrl, type MailAndLinks } from './config-urls.js';
import { hashCeilingSettings, type HashCeilingSettings } from './config-limits.js';
import { cookieNotice } from './production-checks.js';

export type LeaderElectionMode = 'lockfile' | 'db';

/**
 * What this process is. Only a `worker` (forked by the cluster primary,
 * which sets COURSEWORK_ROLE for it) may take the scheduler lock; the CLI,
 * the knex CLI and anything else run as `tool` and never schedule, whatever
 * their argv says.
 */
export type ProcessRole = 'worker' | 'tool';

export interface Config extends MailAndLinks, HashCeilingSettings {
  /** What start-up should tell the operator about the settings (a value raised to its minimum). */
  notices: string[];
  port: number;
  host: string;
  webConcurrency: number;
  databaseUrl: string;
  leaderElection: LeaderElectionMode;
  schedulerLockFile: string;
  /** At least MIN_LOCK_STALE_MS: a lower SCHEDULER_LOCK_STALE_MS is raised to it, with a notice. */
  schedulerLockStaleMs: number;
  schedulerRetryMs: number;
  leaderLeaseMs: number;
  schedulerEnabled: boolean;
  stageSweepCron: string;
  executionRetentionDays: number;
  shutdownTimeoutMs: number;
  sessionSecret: string | undefined;
  logLevel: string;
  alertWebhookUrl: string | undefined;
  /** ALERT_WEBHOOK_SECRET: when set, alerts carry an HMAC-SHA256 signature of their body. */
  alertWebhookSecret: string | undefined;
  /** DEMO_DATA: seed the demo course and accounts (auto: a fresh embedded database outside production). */
  demoData: 'auto' | 'true' | 'false';
  /** NODE_ENV=production turns the demo data off under `auto`. */
  production: boolean;
  /** IANA zone for daily jobs such as the 02:00 cleanup. */
  appTimezone: string;
  processRole: ProcessRole;
  /** Folder for the SQLite file, generated secrets, pid file and daemon log. */
  dataDir: string;
  /** UPLOAD_DIR (default <dataDir>/uploads) and UPLOAD_MAX_BYTES: where files handed in are kept, and the most any stage takes per file. */
  uploads: UploadSettings;
  /** TRUST_PROXY: Express `trust proxy`; decides `req.ip`, which the sign-in limit counts by. */
  trustProxy: TrustProxy;
  /** COOKIE_SECURE: cookies get `Secure` and `__Host-` names, responses send HSTS. */
  cookieSecure: boolean;
  /** METRICS_TOKEN: when set, `/metrics` needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** METRICS_PUBLIC: with NODE_ENV=production and no METRICS_TOKEN, an open /metrics on purpose (else the start refuses). */
  metricsPublic: boolean;
  /** LIVE_STREAM_MAX_MS: how long a live stream lasts before the page reconnects (at most 15 minutes). */
  liveStreamMaxMs: number;
}

export interface UploadSettings {
  dir: string;
  /** UPLOAD_IDLE_TIMEOUT_MS: an upload whose body is silent this long is ended (30 s when not given). */
  idleTimeoutMs?: number;
  maxBytes: number;
}

export const DEFAULT_UPLOAD_MAX_BYTES = 25 * 1024 * 1024;

/** What Express's `trust proxy` takes: false, a hop count, or a comma-separated list of addresses, CIDRs and proxy-addr's names. */
export type TrustProxy = false | number | string;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

function wholeNumber(env: Env, name: string, fallback: number, { min = 0, unit = '' } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw new ConfigError(`Expected ${name} to be a whole number${unit ? ` of ${unit}` : ''}, got "${raw}"`);
  }
  if (value < min) throw new ConfigError(`Expected ${name} to be at least ${min}${unit ? ` ${unit}` : ''}, got ${value}`);
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`Expected ${name} to be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name, fallback);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`Expected ${name} to be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** SESSION_SECRET signs the session cookie, and the CSRF and anonymous-visitor keys are derived from it. */
export const MIN_SESSION_SECRET_LENGTH = 32;

function sessionSecret(env: Env): string | undefined {
  const raw = env.SESSION_SECRET?.trim();
  if (!raw) return undefined;
  // The value itself is never echoed: it is a secret.
  if (raw.length < MIN_SESSION_SECRET_LENGTH) {
    throw new ConfigError(`Expected SESSION_SECRET to be at least ${MIN_SESSION_SECRET_LENGTH} characters, got ${raw.length}`);
  }
  return raw;
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** One TRUST_PROXY entry: a proxy-addr name, an address, or an address/prefix length. */
function proxyEntryValid(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function trustProxy(env: Env): TrustProxy {
  const raw = text(env, 'TRUST_PROXY', 'loopback');
  if (raw.toLowerCase() === 'false') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (raw.toLowerCase() === 'true') {
    throw new ConfigError('Expected TRUST_PROXY to be false, loopback, a hop count or addresses/CIDRs, got "true": it would take every client\'s X-Forwarded-For at its word');
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !proxyEntryValid(entry));
  if (bad.length > 0) {
    throw new ConfigError(`Expected TRUST_PROXY to be false, loopback, a hop count or comma-separated addresses/CIDRs, got "${raw}" (not understood: ${bad.map((b) => `"${b}"`).join(', ')})`);
  }
  return entries.join(',');
}

function databaseUrl(env: Env): string {
  const raw = text(env, 'DATABASE_URL', 'sqlite:./data/coursework.sqlite');
  if (!/^sqlite:.+$/.test(raw) && !isMysqlUrl(raw)) {
    throw new ConfigError(`Expected DATABASE_URL to be sqlite:PATH or mysql://user:pass@host:port/db, got "${redactUrl(raw)}"`);
  }
  return raw;
}

function cronSpec(env: Env, name: string, fallback: string): string {
  const raw = text(env, name, fallback);
  const fields = raw.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new ConfigError(`Expected ${name} to be a cron expression of 5 or 6 fields, got "${raw}"`);
  }
  // Parsed here, so a bad one fails the start naming the variable instead of
  // failing inside the leader at every attempt.
  try {
    cronParser.parseExpression(raw);
  } catch (err) {
    throw new ConfigError(`Expected ${name} to be a valid cron expression, got "${raw}": ${(err as Error).message}`);
  }
  return raw;
}

function webhookUrl(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`Expected ${name} to be an http(s) URL, got "${redactUrl(raw)}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`Expected ${name} to be an http(s) URL, got "${redactUrl(raw)}"`);
  return url.toString();
}

function zone(env: Env, name: string, fallback: string): string {
  const raw = text(env, name, fallback);
  if (!IANAZone.isValidZone(raw)) throw new ConfigError(`Expected ${name} to be an IANA time zone such as Europe/Berlin, got "${raw}"`);
  return raw;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** proper-lockfile treats any stale time below this as this. */
export const MIN_LOCK_STALE_MS = 2000;

export function loadConfig(env: Env = process.env): Config {
  const notices: string[] = [];
  const dataDir = text(env, 'DATA_DIR', './data');
  const lockStaleMs = wholeNumber(env, 'SCHEDULER_LOCK_STALE_MS', 10 * SECOND, { min: 1, unit: 'ms' });
  const production = env.NODE_ENV?.trim() === 'production';
  const cookie = cookieNotice(env, production);
  if (cookie) notices.push(cookie);
  const port = wholeNumber(env, 'PORT', 3000);
  if (lockStaleMs < MIN_LOCK_STALE_MS) notices.push(`SCHEDULER_LOCK_STALE_MS=${lockStaleMs} is below the lock's minimum of ${MIN_LOCK_STALE_MS} ms; ${MIN_LOCK_STALE_MS} ms is used`);
  return {
    notices,
    port,
    host: text(env, 'HOST', '0.0.0.0'),
    webConcurrency: wholeNumber(env, 'WEB_CONCURRENCY', os.availableParallelism(), { min: 1 }),
    databaseUrl: databaseUrl(env),
    leaderElection: oneOf(env, 'LEADER_ELECTION', ['lockfile', 'db'] as const, 'lockfile'),
    schedulerLockFile: text(env, 'SCHEDULER_LOCK_FILE', '/tmp/coursework-scheduler.lock'),
    schedulerLockStaleMs: Math.max(lockStaleMs, MIN_LOCK_STALE_MS),
    schedulerRetryMs: wholeNumber(env, 'SCHEDULER_RETRY_MS', 5 * SECOND, { min: 100, unit: 'ms' }),
    leaderLeaseMs: wholeNumber(env, 'LEADER_LEASE_MS', 15 * SECOND, { min: 1000, unit: 'ms' }),
    schedulerEnabled: flag(env, 'SCHEDULER_ENABLED', true),
    stageSweepCron: cronSpec(env, 'STAGE_SWEEP_CRON', '* * * * *'),
    executionRetentionDays: wholeNumber(env, 'EXECUTION_RETENTION_DAYS', 7, { min: 1, unit: 'days' }),
    shutdownTimeoutMs: wholeNumber(env, 'SHUTDOWN_TIMEOUT_MS', 10 * SECOND, { min: 0, unit: 'ms' }),
    sessionSecret: sessionSecret(env),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    alertWebhookUrl: webhookUrl(env, 'ALERT_WEBHOOK_URL'),
    alertWebhookSecret: env.ALERT_WEBHOOK_SECRET?.trim() || undefined,
    demoData: oneOf(env, 'DEMO_DATA', ['auto', 'true', 'false'] as const, 'auto'),
    production,
    dataDir,
    uploads: { dir: text(env, 'UPLOAD_DIR', path.join(dataDir, 'uploads')), maxBytes: wholeNumber(env, 'UPLOAD_MAX_BYTES', DEFAULT_UPLOAD_MAX_BYTES, { min: 1, unit: 'bytes' }), idleTimeoutMs: wholeNumber(env, 'UPLOAD_IDLE_TIMEOUT_MS', 30 * SECOND, { min: 100, unit: 'ms' }) },
    appTimezone: zone(env, 'APP_TIMEZONE', 'UTC'),
    processRole: oneOf(env, 'COURSEWORK_ROLE', ['worker', 'tool'] as const, 'tool'),
    trustProxy: trustProxy(env),
    cookieSecure: flag(env, 'COOKIE_SECURE', production),
    metricsToken: env.METRICS_TOKEN?.trim() || undefined,
    metricsPublic: flag(env, 'METRICS_PUBLIC', false),
    liveStreamMaxMs: wholeNumber(env, 'LIVE_STREAM_MAX_MS', 15 * MINUTE, { min: 1000, unit: 'ms' }),
    ...mailAndLinks(env, port, (message) => new ConfigError(message)),
    ...hashCeilingSettings(env, (message) => new ConfigError(message)),
  };
}
