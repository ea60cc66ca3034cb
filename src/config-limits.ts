// The host-wide ceiling on password hashes (SIGN_IN_HASHES_PER_HOST,
// SIGN_IN_HASHES_QUEUED_PER_HOST), read for config.ts. Each worker already
// runs at most 4 argon2 hashes at once (auth/hash-gate.ts), but a host runs
// WEB_CONCURRENCY workers, and an operator may well set more workers than
// cores: the primary also holds a ceiling for all of them together, so the
// memory and CPU a sign-in flood can take on one host does not grow with the
// number of workers (cluster/hash-ceiling.ts).
import os from 'node:os';

export interface HostHashLimits {
  /** Hashes running at once on the whole host. */
  running: number;
  /** Hashes waiting for a place on the whole host; one more is refused at once (a 503). */
  queued: number;
}

export interface HashCeilingSettings {
  hostHashLimits: HostHashLimits;
}

type Env = Record<string, string | undefined>;

function count(env: Env, name: string, fallback: number, min: number, fail: (message: string) => Error): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw fail(`Expected ${name} to be a whole number of at least ${min}, got "${raw}"`);
  return Number(raw);
}

/** Defaults: as many running as the host has cores (at least the 4 one worker runs), 256 waiting. */
export function hashCeilingSettings(env: Env, fail: (message: string) => Error): HashCeilingSettings {
  return {
    hostHashLimits: {
      running: count(env, 'SIGN_IN_HASHES_PER_HOST', Math.max(4, os.availableParallelism()), 1, fail),
      queued: count(env, 'SIGN_IN_HASHES_QUEUED_PER_HOST', 256, 0, fail),
    },
  };
}
