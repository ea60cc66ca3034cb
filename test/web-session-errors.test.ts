// A session store that fails while signing in must give an error page, not
// an exception thrown inside express-session's callback (which would escape
// Express and take the process down).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { Browser, startTestServer, userWithToken, type TestServer } from './helpers/http.js';

describe(`sign-in when the session store fails, on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  /** Makes every INSERT or DELETE on the session table fail, as a store that is down would. */
  async function failSessionWrites(on: 'INSERT' | 'DELETE'): Promise<() => Promise<void>> {
    const name = `sessions_no_${on.toLowerCase()}`;
    await t.db.raw(
      t.dialect === 'mysql'
        ? `CREATE TRIGGER ${name} BEFORE ${on} ON sessions FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'store down'`
        : `CREATE TRIGGER ${name} BEFORE ${on} ON sessions BEGIN SELECT RAISE(ABORT, 'store down'); END`,
    );
    return async () => {
      await t.db.raw(`DROP TRIGGER IF EXISTS ${name}`);
    };
  }

  test('a failing session save is a 500 page and the server keeps serving', async () => {
    const { user } = await userWithToken(t.db, 'teacher');
    const b = new Browser(server.baseUrl);
    const page = await b.get('/login');
    // An anonymous visitor has no stored session: signing in stores the first one; make that fail.
    const restore = await failSessionWrites('INSERT');
    try {
      const res = await b.post('/login', { _csrf: Browser.csrfFrom(page.text), email: user.email, password: 'password-123' });
      assert.equal(res.status, 500);
      assert.match(res.text, /Something went wrong on our side/);
      assert.equal((await b.get('/login')).status, 200, 'the server still answers');
    } finally {
      await restore();
    }
  });

  test('a failing session regenerate is a 500 page and the server keeps serving', async () => {
    const { user } = await userWithToken(t.db, 'teacher');
    const b = new Browser(server.baseUrl);
    await b.login(user.email, 'password-123');
    const page = await b.get('/courses');
    // Signing in again regenerates: the stored session is destroyed first; make that fail.
    const restore = await failSessionWrites('DELETE');
    try {
      const res = await b.post('/login', { _csrf: Browser.csrfFrom(page.text), email: user.email, password: 'password-123' });
      assert.equal(res.status, 500);
      assert.match(res.text, /Something went wrong on our side/);
      assert.equal((await b.get('/login')).status, 200, 'the server still answers');
    } finally {
      await restore();
    }
  });
});
