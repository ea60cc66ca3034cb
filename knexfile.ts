// For the knex CLI, run under tsx (knex only knows ts-node for a .ts knexfile):
//   node --import tsx node_modules/knex/bin/cli.js migrate:latest
// Same connection and migration history as `npm run migrate`. Like every
// command-line entry, it is never a cluster worker and never schedules jobs.
import { loadConfig } from './src/config.js';
import { knexConfig } from './src/db/connect.js';
import { migrationConfig } from './src/db/migrations.js';

const { databaseUrl } = loadConfig();

export default { ...knexConfig(databaseUrl), migrations: migrationConfig() };
