// A worker's side of cluster IPC: requests to the primary that expect an
// answer (metrics), matched by request id and bounded by a timeout.
import { randomUUID } from 'node:crypto';
import { isMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

type Answer = Extract<PrimaryMessage, { requestId: string }>;

const pending = new Map<string, (answer: Answer) => void>();
const listeners: ((message: PrimaryMessage) => void)[] = [];
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  process.on('message', (message: unknown) => {
    if (!isMessage<PrimaryMessage>(message)) return;
    if ('requestId' in message && message.type.endsWith('-result')) {
      const resolve = pending.get(message.requestId);
      if (resolve) {
        pending.delete(message.requestId);
        resolve(message);
        return;
      }
    }
    for (const listener of listeners) listener(message);
  });
}

export function inCluster(): boolean {
  return typeof process.send === 'function';
}

export function sendToPrimary(message: WorkerMessage): void {
  if (inCluster() && process.connected) process.send!(message);
}

/** Messages from the primary that are not answers to our own requests. */
export function onPrimaryMessage(listener: (message: PrimaryMessage) => void): void {
  listen();
  listeners.push(listener);
}

export function askPrimary<T extends Answer['type']>(
  message: Extract<WorkerMessage, { requestId: string }> extends infer M ? (M extends { requestId: string } ? Omit<M, 'requestId'> : never) : never,
  timeoutMs: number,
  /** The caller's own id, when it must name the request later (a place it gives back after a timeout). */
  requestId: string = randomUUID(),
): Promise<Extract<Answer, { type: T }>> {
  listen();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(requestId);
      reject(new Error(`the primary did not answer ${message.type} within ${timeoutMs} ms`));
    }, timeoutMs);
    pending.set(requestId, (answer) => {
      clearTimeout(timer);
      resolve(answer as Extract<Answer, { type: T }>);
    });
    sendToPrimary({ ...message, requestId });
  });
}
