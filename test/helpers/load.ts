// Steady HTTP load over keep-alive connections, counting every request that
// failed (a network error or a 5xx): a restart must not fail any.
import http from 'node:http';

export interface LoadResult {
  ok: number;
  failed: number;
  /** The first few failures, for the assertion message. */
  failures: string[];
}

export function keepAliveLoad(baseUrl: string, paths: string[], { clients = 8, headers = {} } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const result: LoadResult = { ok: 0, failed: 0, failures: [] };
  let running = true;
  const fail = (why: string) => {
    result.failed += 1;
    if (result.failures.length < 10) result.failures.push(why);
  };
  const once = (path: string) =>
    new Promise<void>((resolve) => {
      const req = http.get(`${baseUrl}${path}`, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 500) fail(`${path}: ${res.statusCode}`);
          else result.ok += 1;
          resolve();
        });
      });
      req.on('error', (err) => {
        fail(`${path}: ${err.message}`);
        resolve();
      });
    });
  const loops = Array.from({ length: clients }, async (_, i) => {
    for (let n = i; running; n++) await once(paths[n % paths.length]);
  });
  return {
    result,
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}
