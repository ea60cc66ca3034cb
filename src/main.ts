// The server entry that start.sh execs.
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startWorker } from './worker.js';

const config = loadConfig();
const log = createLogger(config.logLevel);
const worker = await startWorker(config, log);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'shutting down');
    worker.stop().then(() => process.exit(0), (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  });
}
