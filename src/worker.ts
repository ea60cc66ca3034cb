// Composition root of an HTTP worker: config, logger, database, app, server,
// started in that order and released in reverse.
import type { Server } from 'node:http';
import type { Knex } from 'knex';
import { loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { connect } from './db/connect.js';
import { createApp } from './http/app.js';
import { loadSessionSecret } from './secrets.js';

export interface RunningWorker {
  server: Server;
  db: Knex;
  log: Logger;
  stop(): Promise<void>;
}

export async function startWorker(config: Config = loadConfig(), log: Logger = createLogger(config.logLevel)): Promise<RunningWorker> {
  const db = connect(config.databaseUrl);
  const app = createApp({ db, log, sessionSecret: loadSessionSecret(config) });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  log.info({ port: config.port, host: config.host }, 'worker listening');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Stop accepting, let in-flight requests finish, then drop idle keep-alives.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await db.destroy();
    })());
  return { server, db, log, stop };
}
