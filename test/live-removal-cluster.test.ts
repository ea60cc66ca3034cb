// A member removed from a course stops receiving its live stream at once even
// when the removal is made on another worker (issue 24): the built cluster
// with two workers, the student's stream held by one, the teacher's DELETE
// sent to the other on purpose (each connection's worker is known from
// /healthz's pid on the same kept-alive socket). The removal reaches the
// stream's worker through the primary, as a stage change does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { removeCluster, startReadyCluster, type RunningCluster } from './helpers/cluster.js';
import { apiClient, courseOfTeacherWithActiveStage, userWithToken } from './helpers/http.js';

let t: TestDatabase;
let cluster: RunningCluster;

before(async () => {
  t = await createTestDatabase();
  // A lifetime far longer than the test: a stream that ends did so because of the removal.
  cluster = await startReadyCluster({ databaseUrl: t.url, workers: 2, env: { LIVE_STREAM_MAX_MS: String(10 * 60_000) } });
});

after(async () => {
  if (cluster) await removeCluster(cluster);
  await t?.cleanup();
});

/** One kept-alive connection, so every request on it goes to the same worker. */
function connection() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (method: string, path: string, token?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${cluster.baseUrl}${path}`, { method, agent, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end();
    });
  return { agent, request, pid: async () => (JSON.parse((await request('GET', '/healthz')).text) as { pid: number }).pid };
}

test(`on ${testDialect}: removing a member on one worker ends their stream on another at once`, async () => {
  const teacher = await userWithToken(t.db, 'teacher');
  const student = await userWithToken(t.db, 'student');
  const { course } = await courseOfTeacherWithActiveStage(apiClient(cluster.baseUrl, teacher.token), student.user.email, 'XPROC1');

  const streamSide = connection();
  const streamPid = await streamSide.pid();
  let firstEvent!: () => void;
  const receiving = new Promise<void>((resolve) => (firstEvent = resolve));
  let ended!: () => void;
  const streamEnded = new Promise<void>((resolve) => (ended = resolve));
  const req = http.get(`${cluster.baseUrl}/courses/${course.id}/live`, { agent: streamSide.agent, headers: { authorization: `Bearer ${student.token}` } }, (res) => {
    assert.equal(res.statusCode, 200);
    res.once('data', () => firstEvent());
    res.on('end', () => ended());
    res.on('close', () => ended());
    res.resume();
  });
  req.on('error', () => ended());

  // Another connection until it lands on the other worker (round-robin: one or two tries).
  let removalSide = connection();
  for (let i = 0; i < 20 && (await removalSide.pid()) === streamPid; i++) {
    removalSide.agent.destroy();
    removalSide = connection();
  }
  const removalPid = await removalSide.pid();
  assert.notEqual(removalPid, streamPid, 'the removal is made on the other worker');
  try {
    await receiving;
    const started = Date.now();
    const removed = await removalSide.request('DELETE', `/api/courses/${course.id}/members/${student.user.id}`, teacher.token);
    assert.equal(removed.status, 204);
    await Promise.race([streamEnded, new Promise((_, reject) => setTimeout(() => reject(new Error("the removed member's stream did not end within 10 s")), 10_000))]);
    assert.ok(Date.now() - started < 10_000, 'ended by the removal, not by its lifetime');
  } finally {
    req.destroy();
    streamSide.agent.destroy();
    removalSide.agent.destroy();
  }
});
