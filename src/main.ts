// The server entry that start.sh execs: the primary forks the workers, each
// worker serves HTTP and bids for the scheduler.
import cluster from 'node:cluster';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { runPrimary } from './cluster/primary.js';
import { startWorker } from './worker.js';

const config = loadConfig();
if (cluster.isPrimary) {
  const log = createLogger(config.logLevel, { role: 'primary' });
  process.exitCode = await runPrimary(config, log);
} else {
  const log = createLogger(config.logLevel, { role: 'worker', workerId: cluster.worker?.id });
  await startWorker(config, log);
}
