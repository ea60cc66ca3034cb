// A worker's connections and live streams are capped from its own open-file
// limit (issue 24): the built cluster started under `ulimit -n 320` holds at
// most 320 - 256 = 64 connections per worker (the next is closed at once, and
// a freed place is taken again), and at most half of that, 32, live streams
// (the next is a 503 with Retry-After). Real processes, real sockets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { listening, removeCluster, startReadyCluster, type RunningCluster } from './helpers/cluster.js';
import { apiClient, courseOfTeacherWithActiveStage, userWithToken } from './helpers/http.js';

const SOFT_LIMIT = 320;
const CONNECTIONS = SOFT_LIMIT - 256;
const STREAMS = CONNECTIONS / 2;

let t: TestDatabase;
let cluster: RunningCluster;

before(async () => {
  t = await createTestDatabase();
  cluster = await startReadyCluster({ databaseUrl: t.url, workers: 1, openFilesLimit: SOFT_LIMIT });
});

after(async () => {
  if (cluster) await removeCluster(cluster);
  await t?.cleanup();
});

/** A connection that has had one keep-alive answer (so the worker holds it), or null when the server closed it unanswered. */
function servedConnection(port: number): Promise<net.Socket | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('"status":"ok"')) resolve(socket);
    });
    socket.on('close', () => resolve(null));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(null) : reject(err)));
    socket.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n');
  });
}

test(`on ${testDialect}: the worker reads its cap from ulimit -n and closes the connection beyond it at once`, async () => {
  const line = cluster.logs.find(listening);
  assert.equal(line?.maxConnections, CONNECTIONS, 'the cap logged at start is what the soft limit leaves after the headroom');
  const held: net.Socket[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) {
      const socket = await servedConnection(cluster.port);
      assert.ok(socket, `connection ${i + 1} is served`);
      held.push(socket);
    }
    assert.equal(await servedConnection(cluster.port), null, `connection ${CONNECTIONS + 1} is closed unanswered`);
    // A place given back is taken again: the worker counts closes, not only opens.
    const closed = new Promise((resolve) => held[0].once('close', resolve));
    held.shift()!.end();
    await closed;
    let again: net.Socket | null = null;
    // The worker hears of the close a moment after the client: a few tries, each an event, within a bound.
    for (let i = 0; i < 50 && !again; i++) again = await servedConnection(cluster.port);
    assert.ok(again, 'a freed place serves a new connection');
    held.push(again);
  } finally {
    for (const socket of held) socket.destroy();
  }
});

test(`on ${testDialect}: the worker's stream cap is half of that; the next stream is a 503 with Retry-After`, async () => {
  const teacher = await userWithToken(t.db, 'teacher');
  const student = await userWithToken(t.db, 'student');
  const { course } = await courseOfTeacherWithActiveStage(apiClient(cluster.baseUrl, teacher.token), student.user.email, 'CAP1');
  // Ten streams per user at most, so four admins hold the worker's 32.
  const admins = await Promise.all([1, 2, 3, 4].map(() => userWithToken(t.db, 'admin')));
  const open: http.ClientRequest[] = [];
  const stream = (token: string) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(`${cluster.baseUrl}/courses/${course.id}/live`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res);
      });
      req.on('error', reject);
      open.push(req);
    });
  try {
    for (let i = 0; i < STREAMS; i++) assert.equal((await stream(admins[Math.floor(i / 10)].token)).statusCode, 200, `stream ${i + 1}`);
    const full = await stream(admins[3].token);
    assert.equal(full.statusCode, 503, `stream ${STREAMS + 1}`);
    assert.ok(Number(full.headers['retry-after']) > 0);
  } finally {
    for (const req of open) req.destroy();
  }
});
