// The pages for teams and files: the course page's team forms, the stage
// page's multipart form (its CSRF token judged before any file is taken),
// the limits shown before choosing, and a team stage for a student in no team.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { filesUnder } from './helpers/multipart.js';
import type { User } from '../src/domain/users.js';
import { DAY, HOUR, toIso } from '../src/time.js';

describe(`team and file pages on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacherApi: ApiClient;
  let teacher: User, alice: User, bob: User, carol: User;
  let courseId: number;
  let stageId: number;

  async function signedIn(user: User): Promise<Browser> {
    const b = new Browser(server.baseUrl);
    await b.login(user.email, 'password-123');
    return b;
  }

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const te = await userWithToken(t.db, 'teacher');
    teacher = te.user;
    teacherApi = apiClient(server.baseUrl, te.token);
    courseId = (await teacherApi.post('/api/courses', { title: 'Pages', code: 'PAGES-1' })).body.id;
    // One after another: the page lists a team's members by id.
    alice = (await userWithToken(t.db, 'student', 'alice')).user;
    bob = (await userWithToken(t.db, 'student', 'bob')).user;
    carol = (await userWithToken(t.db, 'student', 'carol')).user;
    for (const s of [alice, bob, carol]) await teacherApi.post(`/api/courses/${courseId}/members`, { email: s.email });
    const now = Date.now();
    stageId = (await teacherApi.post(`/api/courses/${courseId}/stages`, { name: 'Team PDF', startDate: toIso(now - HOUR), endDate: toIso(now + DAY), mode: 'team', maxFileBytes: 2 * 1024 * 1024, allowedExtensions: ['.pdf'] })).body.id;
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  test('the teacher makes a team, moves students in, renames it; an empty team is deleted', async () => {
    const b = await signedIn(teacher);
    let page = await b.get(`/courses/${courseId}`);
    const csrf = Browser.csrfFrom(page.text);
    assert.equal((await b.post(`/courses/${courseId}/teams`, { _csrf: csrf, name: 'Owls' })).status, 303);
    assert.equal((await b.post(`/courses/${courseId}/teams`, { _csrf: csrf, name: 'Spare' })).status, 303);
    const teams = (await teacherApi.get(`/api/courses/${courseId}/teams`)).body.items as { id: number; name: string }[];
    const owlsId = teams.find((x) => x.name === 'Owls')!.id;
    const spareId = teams.find((x) => x.name === 'Spare')!.id;
    for (const s of [alice, bob]) assert.equal((await b.post(`/courses/${courseId}/teams/assign`, { _csrf: csrf, userId: String(s.id), teamId: String(owlsId) })).status, 303);
    assert.equal((await b.post(`/teams/${owlsId}/rename`, { _csrf: csrf, name: 'Night owls' })).status, 303);
    assert.equal((await b.post(`/teams/${spareId}/delete`, { _csrf: csrf })).status, 303);
    page = await b.get(`/courses/${courseId}`);
    assert.match(page.text, /Team &#34;Spare&#34; deleted/);
    assert.match(page.text, new RegExp(`<strong>Night owls</strong>\\s*<span class="muted">${alice.email}, ${bob.email}</span>`));
    assert.match(page.text, new RegExp(`<option value="${owlsId}" selected>Night owls</option>`), 'a member shows their team');
    assert.doesNotMatch(page.text, /<strong>Spare<\/strong>/);
    const student = await signedIn(alice);
    assert.equal((await student.post(`/courses/${courseId}/teams`, { _csrf: Browser.csrfFrom((await student.get(`/courses/${courseId}`)).text), name: 'Mine' })).status, 403);
  });

  test('the stage page shows the limits before a file is chosen; a member hands in a PDF by form, a teammate sees it', async () => {
    const a = await signedIn(alice);
    const page = await a.get(`/stages/${stageId}`);
    assert.match(page.text, /enctype="multipart\/form-data"/);
    assert.match(page.text, /Up to 10 files, each at most 2 MiB; only \.pdf\./);
    assert.match(page.text, /<input id="files" type="file" name="files" multiple aria-describedby="files-limits" accept="\.pdf">/);
    assert.match(page.text, /You hand in for your team, <strong>Night owls<\/strong>/);
    const csrf = Browser.csrfFrom(page.text);
    const handed = await a.postMultipart(`/stages/${stageId}/submissions`, [
      { name: '_csrf', value: csrf },
      { name: 'body', value: 'Our report' },
      { name: 'link', value: '' },
      { name: 'files', filename: 'report.pdf', type: 'application/pdf', data: Buffer.from('%PDF-1.4 team report') },
    ]);
    assert.equal(handed.status, 303, handed.text.slice(0, 500));
    const seen = await (await signedIn(bob)).get(`/stages/${stageId}`);
    assert.match(seen.text, /<a href="\/api\/files\/\d+" download>report\.pdf<\/a>/);
    assert.match(seen.text, /Our report/);
    const teacherPage = await (await signedIn(teacher)).get(`/stages/${stageId}`);
    assert.match(teacherPage.text, new RegExp(`Night owls \\(by ${alice.email}\\) · version 1`));
  });

  test('a multipart form without its token, or with a wrong one, is a 403 and stores nothing', async () => {
    const a = await signedIn(alice);
    const before = filesUnder(server.uploadDir);
    const file = { name: 'files', filename: 'sneaky.pdf', type: 'application/pdf', data: Buffer.from('%PDF-1.4 forged') };
    assert.equal((await a.postMultipart(`/stages/${stageId}/submissions`, [file])).status, 403);
    assert.equal((await a.postMultipart(`/stages/${stageId}/submissions`, [{ name: '_csrf', value: 'forged' }, file])).status, 403);
    assert.equal((await a.postMultipart(`/stages/${stageId}/submissions`, [{ name: 'body', value: 'no token, no file' }])).status, 403);
    assert.deepEqual(filesUnder(server.uploadDir), before);
    assert.equal(Number((await t.db('submissions').where({ stage_id: stageId }).count({ n: '*' }).first())!.n), 1);
  });

  test('a refused file comes back beside the field; a student in no team is told why and gets no form', async () => {
    const a = await signedIn(alice);
    const csrf = Browser.csrfFrom((await a.get(`/stages/${stageId}`)).text);
    const refused = await a.postMultipart(`/stages/${stageId}/submissions`, [
      { name: '_csrf', value: csrf },
      { name: 'body', value: 'kept text' },
      { name: 'files', filename: 'notes.docx', data: Buffer.from('PK docx') },
    ]);
    assert.equal(refused.status, 400);
    assert.match(refused.text, /id="files-error">Files &#34;notes\.docx&#34;: this stage takes only \.pdf files/);
    assert.match(refused.text, />kept text<\/textarea>/);
    const c = await signedIn(carol);
    const page = await c.get(`/stages/${stageId}`);
    assert.match(page.text, /you are in no team of this course/);
    assert.doesNotMatch(page.text, /type="file"/);
    const forced = await c.postMultipart(`/stages/${stageId}/submissions`, [{ name: '_csrf', value: Browser.csrfFrom(page.text) }, { name: 'body', value: 'solo' }]);
    assert.equal(forced.status, 409);
    assert.match(forced.text, /in no team/);
  });
  test('the stage form sets who hands in, the largest file in MiB and the file types; above UPLOAD_MAX_BYTES is refused beside the field', async () => {
    const b = await signedIn(teacher);
    const form = await b.get(`/courses/${courseId}/stages/new`);
    assert.match(form.text, /Largest file, in MiB \(blank: 25, the most this server takes\)/);
    const fields = { _csrf: Browser.csrfFrom(form.text), name: 'By form', description: '', startDate: '2030-01-01T09:00', endDate: '2030-01-02T09:00', mode: 'team', maxFileMiB: '1.5', allowedExtensions: '.PDF, zip' };
    assert.equal((await b.post(`/courses/${courseId}/stages/new`, fields)).status, 303);
    const made = (await teacherApi.get(`/api/courses/${courseId}/stages`)).body.items.find((x: { name: string }) => x.name === 'By form');
    assert.deepEqual([made.mode, made.maxFileBytes, made.allowedExtensions], ['team', 1_572_864, ['.pdf', '.zip']]);
    const edit = await b.get(`/stages/${made.id}/edit`);
    assert.match(edit.text, /name="maxFileMiB" value="1.5"/);
    assert.match(edit.text, /name="allowedExtensions" value=".pdf, .zip"/);
    const tooBig = await b.post(`/courses/${courseId}/stages/new`, { ...fields, name: 'Too big', maxFileMiB: '26' });
    assert.equal(tooBig.status, 400);
    assert.match(tooBig.text, /id="maxFileMiB-error">Largest file must be at most 25 MiB/);
  });
});
