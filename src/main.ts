// The server entry that start.sh execs: the primary forks the workers, each
// worker serves HTTP and bids for the scheduler.
import cluster from 'node:cluster';
import { loadConfig } from './config.js';
import { productionRefusal } from './production-checks.js';
import { createLogger } from './log.js';
import { connect } from './db/connect.js';
import { migrationsCurrent } from './db/migrations.js';
import { runPrimary } from './cluster/primary.js';
import { startWorker } from './worker.js';

const config = loadConfig();
if (cluster.isPrimary) {
  const log = createLogger(config.logLevel, { role: 'primary' });
  for (const notice of config.notices) log.warn(notice);
  const refusal = productionRefusal(config);
  if (refusal) {
    log.fatal(refusal);
    process.exit(1);
  }
  // Workers on an old schema would only crash and be re-forked in a loop.
  const db = connect(config.databaseUrl);
  const current = await migrationsCurrent(db).finally(() => db.destroy());
  if (!current) {
    log.fatal('the database schema is not current: run `npm run migrate` first (start.sh does)');
    process.exit(1);
  }
  process.exitCode = await runPrimary(config, log);
} else {
  const log = createLogger(config.logLevel, { role: 'worker', workerId: cluster.worker?.id });
  await startWorker(config, log);
}
