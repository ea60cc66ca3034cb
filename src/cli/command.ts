// What a CLI command is; a leaf module, so commands may live in files of their own.
import type { Knex } from 'knex';
import type { Config } from '../config.js';

export class UsageError extends Error {}

export interface CommandContext {
  db: Knex;
  config: Config;
  args: Record<string, string | boolean | undefined>;
  positionals: string[];
  out: (line: string) => void;
}

export interface Command {
  usage: string;
  summary: string;
  options?: Record<string, { type: 'string' | 'boolean' }>;
  run(ctx: CommandContext): Promise<number | void>;
}
