// The one place that reads process.env. Every value is validated here so a
// typo fails at start with the variable's name, not later inside a timer.
import os from 'node:os';
import { IANAZone } from 'luxon';
import { SECOND } from './time.js';

export type LeaderElectionMode = 'lockfile' | 'db';

/**
 * What this process is. Only a `worker` (forked by the cluster primary,
 * which sets COURSEWORK_ROLE for it) may take the scheduler lock; the CLI,
 * the knex CLI and anything else run as `tool` and never schedule, whatever
 * their argv says.
 */
export type ProcessRole = 'worker' | 'tool';

export interface Config {
  port: number;
  host: string;
  webConcurrency: number;
  databaseUrl: string;
  leaderElection: LeaderElectionMode;
  schedulerLockFile: string;
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
  /** IANA zone for daily jobs such as the 02:00 cleanup. */
  appTimezone: string;
  processRole: ProcessRole;
  /** Folder for the SQLite file, generated secrets, pid file and daemon log. */
  dataDir: string;
}

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

function databaseUrl(env: Env): string {
  const raw = text(env, 'DATABASE_URL', 'sqlite:./data/coursework.sqlite');
  if (!/^(sqlite:.+|mysql:\/\/.+)$/.test(raw)) {
    throw new ConfigError(`Expected DATABASE_URL to be sqlite:PATH or mysql://user:pass@host:port/db, got "${raw}"`);
  }
  return raw;
}

function cronSpec(env: Env, name: string, fallback: string): string {
  const raw = text(env, name, fallback);
  const fields = raw.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new ConfigError(`Expected ${name} to be a cron expression of 5 or 6 fields, got "${raw}"`);
  }
  return raw;
}

function zone(env: Env, name: string, fallback: string): string {
  const raw = text(env, name, fallback);
  if (!IANAZone.isValidZone(raw)) throw new ConfigError(`Expected ${name} to be an IANA time zone such as Europe/Berlin, got "${raw}"`);
  return raw;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  return {
    port: wholeNumber(env, 'PORT', 3000),
    host: text(env, 'HOST', '0.0.0.0'),
    webConcurrency: wholeNumber(env, 'WEB_CONCURRENCY', os.availableParallelism(), { min: 1 }),
    databaseUrl: databaseUrl(env),
    leaderElection: oneOf(env, 'LEADER_ELECTION', ['lockfile', 'db'] as const, 'lockfile'),
    schedulerLockFile: text(env, 'SCHEDULER_LOCK_FILE', '/tmp/coursework-scheduler.lock'),
    // proper-lockfile silently raises anything lower to 2000 ms; say so instead.
    schedulerLockStaleMs: wholeNumber(env, 'SCHEDULER_LOCK_STALE_MS', 10 * SECOND, { min: 2000, unit: 'ms' }),
    schedulerRetryMs: wholeNumber(env, 'SCHEDULER_RETRY_MS', 5 * SECOND, { min: 100, unit: 'ms' }),
    leaderLeaseMs: wholeNumber(env, 'LEADER_LEASE_MS', 15 * SECOND, { min: 1000, unit: 'ms' }),
    schedulerEnabled: flag(env, 'SCHEDULER_ENABLED', true),
    stageSweepCron: cronSpec(env, 'STAGE_SWEEP_CRON', '* * * * *'),
    executionRetentionDays: wholeNumber(env, 'EXECUTION_RETENTION_DAYS', 7, { min: 1, unit: 'days' }),
    shutdownTimeoutMs: wholeNumber(env, 'SHUTDOWN_TIMEOUT_MS', 10 * SECOND, { min: 0, unit: 'ms' }),
    sessionSecret: env.SESSION_SECRET?.trim() || undefined,
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    alertWebhookUrl: env.ALERT_WEBHOOK_URL?.trim() || undefined,
    dataDir: text(env, 'DATA_DIR', './data'),
    appTimezone: zone(env, 'APP_TIMEZONE', 'UTC'),
    processRole: oneOf(env, 'COURSEWORK_ROLE', ['worker', 'tool'] as const, 'tool'),
  };
}
