// The database behind a TCP proxy that a test can cut and restore
// (test/fixtures/tcp-proxy.ts), run as a child process so that the test's
// own load never slows the forwarding down.
import { fork } from 'node:child_process';
import { once } from 'node:events';

export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

type Reply = { port: number } | { done: string };

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const child = fork('test/fixtures/tcp-proxy.ts', [target.host, String(target.port)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [first] = (await once(child, 'message')) as [Reply];
  if (!('port' in first)) throw new Error(`the proxy said ${JSON.stringify(first)}`);
  const command = async (name: 'cut' | 'restore' | 'close') => {
    const answered = new Promise<void>((resolve) => {
      const onMessage = (reply: Reply) => {
        if ('done' in reply && reply.done === name) {
          child.off('message', onMessage);
          resolve();
        }
      };
      child.on('message', onMessage);
    });
    child.send(name);
    await answered;
  };
  return {
    port: first.port,
    cut: () => command('cut'),
    restore: () => command('restore'),
    async close() {
      if (child.exitCode !== null || !child.connected) return;
      const exited = once(child, 'exit');
      await command('close');
      await exited;
    },
  };
}
