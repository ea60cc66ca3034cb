import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { DAY, HOUR, toIso } from '../src/time.js';

describe(`teams API on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacher: ApiClient, otherTeacher: ApiClient, admin: ApiClient, alice: ApiClient, bob: ApiClient;
  let courseId: number;
  const ids: Record<string, number> = {};

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const te = await userWithToken(t.db, 'teacher');
    teacher = apiClient(server.baseUrl, te.token);
    otherTeacher = apiClient(server.baseUrl, (await userWithToken(t.db, 'teacher')).token);
    admin = apiClient(server.baseUrl, (await userWithToken(t.db, 'admin')).token);
    courseId = (await teacher.post('/api/courses', { title: 'Teams', code: 'TEAMS-1' })).body.id;
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      const s = await userWithToken(t.db, 'student', name);
      ids[name] = s.user.id;
      if (name === 'alice') alice = apiClient(server.baseUrl, s.token);
      if (name === 'bob') bob = apiClient(server.baseUrl, s.token);
      if (name !== 'dave') await teacher.post(`/api/courses/${courseId}/members`, { email: s.user.email });
    }
    ids.teacher = te.user.id;
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  test('a teacher creates a team; its JSON; students see only their own team', async () => {
    const made = await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Red', memberIds: [ids.bob, ids.alice, ids.alice] });
    assert.equal(made.status, 201);
    assert.deepEqual(Object.keys(made.body).sort(), ['courseId', 'id', 'memberIds', 'name']);
    assert.deepEqual(made.body.memberIds, [ids.alice, ids.bob].sort((a, b) => a - b));
    assert.equal(made.headers.get('location'), `/api/teams/${made.body.id}`);
    const empty = await admin.post(`/api/courses/${courseId}/teams`, { name: 'Blue' });
    assert.equal(empty.status, 201, 'an admin may too; a team may start empty');
    assert.deepEqual((await teacher.get(`/api/courses/${courseId}/teams`)).body.items.map((x: { name: string }) => x.name), ['Blue', 'Red']);
    assert.deepEqual((await alice.get(`/api/courses/${courseId}/teams`)).body.items.map((x: { name: string }) => x.name), ['Red']);
    assert.equal((await alice.get(`/api/teams/${made.body.id}`)).status, 200, 'a member sees the team');
    assert.equal((await alice.get(`/api/teams/${empty.body.id}`)).status, 404, 'not a team she is in');
    assert.equal((await otherTeacher.get(`/api/teams/${made.body.id}`)).status, 404, 'a course one does not see');
  });

  test('403 before the body is validated; 400 naming memberIds for non-students; 409 for a student in another team', async () => {
    assert.equal((await alice.post(`/api/courses/${courseId}/teams`, { junk: true })).status, 403);
    assert.equal((await otherTeacher.post(`/api/courses/${courseId}/teams`, { junk: true })).status, 404);
    const red = (await teacher.get(`/api/courses/${courseId}/teams`)).body.items.find((x: { name: string }) => x.name === 'Red');
    assert.equal((await alice.patch(`/api/teams/${red.id}`, { junk: true })).status, 403, 'a member may not change the team');
    const missing = await teacher.post(`/api/courses/${courseId}/teams`, {});
    assert.equal(missing.body.error.details[0].field, 'name');
    for (const memberIds of [[ids.dave], [ids.teacher], [999999], ['x']]) {
      const bad = await teacher.post(`/api/courses/${courseId}/teams`, { name: `Bad ${String(memberIds[0])}`, memberIds });
      assert.equal(bad.status, 400, JSON.stringify(memberIds));
      assert.match(bad.body.error.details[0].field, /^memberIds/);
    }
    const twice = await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Green', memberIds: [ids.carol, ids.alice] });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.details[0].field, 'memberIds');
    assert.equal((await teacher.get(`/api/courses/${courseId}/teams`)).body.items.length, 2, 'nothing was made');
    const sameName = await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Red' });
    assert.equal(sameName.status, 409);
    assert.equal(sameName.body.error.details[0].field, 'name');
  });

  test('PATCH renames and replaces the member list: a student moves between teams', async () => {
    const teams = (await teacher.get(`/api/courses/${courseId}/teams`)).body.items as { id: number; name: string; memberIds: number[] }[];
    const red = teams.find((x) => x.name === 'Red')!;
    const blue = teams.find((x) => x.name === 'Blue')!;
    assert.equal((await teacher.patch(`/api/teams/${blue.id}`, { memberIds: [ids.bob] })).status, 409, 'bob is still in Red');
    assert.deepEqual((await teacher.patch(`/api/teams/${red.id}`, { memberIds: [ids.alice] })).body.memberIds, [ids.alice]);
    const moved = await teacher.patch(`/api/teams/${blue.id}`, { name: 'Navy', memberIds: [ids.bob, ids.carol] });
    assert.equal(moved.status, 200);
    assert.deepEqual([moved.body.name, moved.body.memberIds], ['Navy', [ids.bob, ids.carol].sort((a, b) => a - b)]);
    assert.deepEqual((await bob.get(`/api/courses/${courseId}/teams`)).body.items[0].name, 'Navy');
  });

  test('a student removed from the course leaves their team; a team with submissions is not deleted, an empty one is', async () => {
    const teams = (await teacher.get(`/api/courses/${courseId}/teams`)).body.items as { id: number; name: string }[];
    const navy = teams.find((x) => x.name === 'Navy')!;
    const red = teams.find((x) => x.name === 'Red')!;
    assert.equal((await teacher.delete(`/api/courses/${courseId}/members/${ids.carol}`)).status, 204);
    assert.deepEqual((await teacher.get(`/api/teams/${navy.id}`)).body.memberIds, [ids.bob]);

    const now = Date.now();
    const stage = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Team work', startDate: toIso(now - HOUR), endDate: toIso(now + DAY), mode: 'team' })).body;
    const handed = await bob.post(`/api/stages/${stage.id}/submissions`, { body: 'ours' });
    assert.equal(handed.status, 201);
    assert.equal(handed.body.teamId, navy.id);
    const refused = await teacher.delete(`/api/teams/${navy.id}`);
    assert.equal(refused.status, 409);
    assert.equal((await teacher.get(`/api/teams/${navy.id}`)).status, 200, 'still there');
    assert.equal((await alice.delete(`/api/teams/${red.id}`)).status, 403);
    assert.equal((await teacher.patch(`/api/teams/${red.id}`, { memberIds: [] })).status, 200);
    assert.equal((await teacher.delete(`/api/teams/${red.id}`)).status, 204);
    assert.equal((await teacher.get(`/api/teams/${red.id}`)).status, 404);
  });
});
