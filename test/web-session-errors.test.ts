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

  test('a failing session regenerate is a 500 page and the server keeps serving', async () => {
    const { user } = await userWithToken(t.db, 'teacher');
    const b = new Browser(server.baseUrl);
    const page = await b.get('/login');
    // Regenerating destroys the visitor's stored session first; make that fail.
    await t.db.raw(
      t.dialect === 'mysql'
        ? "CREATE TRIGGER sessions_no_delete BEFORE DELETE ON sessions FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'store down'"
        : "CREATE TRIGGER sessions_no_delete BEFORE DELETE ON sessions BEGIN SELECT RAISE(ABORT, 'store down'); END",
    );
    const res = await b.post('/login', { _csrf: Browser.csrfFrom(page.text), email: user.email, password: 'password-123' });
    assert.equal(res.status, 500);
    assert.match(res.text, /Something went wrong on our side/);
    assert.equal((await b.get('/login')).status, 200, 'the server still answers');
  });
});
