// A demo course to see the app working: one stage done, one open, one ahead,
// and an admin, a teacher and a student to see it as. Their passwords are
// made here, on the first start, printed once and kept in
// <DATA_DIR>/demo-accounts.txt (mode 0600), the way Jenkins hands out its
// first admin password: a demo reachable on every interface must not have a
// password that is in the README (welcome seeds only where DEMO_DATA allows).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { createUser, findUserByEmail, type Actor } from '../domain/users.js';
import { addMember, createCourse } from '../domain/courses.js';
import { createStage } from '../domain/stages.js';
import { DAY } from '../time.js';

type DemoRole = 'admin' | 'teacher' | 'student';

export const DEMO = {
  courseCode: 'DEMO-101',
  admin: { email: 'admin@example.com' },
  teacher: { email: 'teacher@example.com' },
  student: { email: 'student@example.com' },
};

export const DEMO_ACCOUNTS_FILE = 'demo-accounts.txt';

export type DemoAccounts = Record<DemoRole, { email: string; password: string }>;

/** The demo accounts as the first start kept them in `<dataDir>/demo-accounts.txt`: `<email> <password> <role>` a line. */
export function readDemoAccounts(dataDir: string): DemoAccounts {
  const accounts: Partial<DemoAccounts> = {};
  for (const line of fs.readFileSync(path.join(dataDir, DEMO_ACCOUNTS_FILE), 'utf8').split('\n')) {
    const [email, password, role] = line.trim().split(' ');
    if (role === 'admin' || role === 'teacher' || role === 'student') accounts[role] = { email, password };
  }
  return accounts as DemoAccounts;
}

/** Replaces the file; opened with `wx` and mode 0600, so it never follows a planted link and only the owner reads it. */
function keepDemoAccounts(dataDir: string, lines: string[]): string {
  const file = path.join(dataDir, DEMO_ACCOUNTS_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''), { mode: 0o600, flag: 'wx' });
  return file;
}

export async function seedDemo(db: Knex, dataDir: string, now = Date.now()): Promise<string> {
  const file = path.join(dataDir, DEMO_ACCOUNTS_FILE);
  if (await db('courses').where({ code: DEMO.courseCode }).first('id')) return `Demo course ${DEMO.courseCode} already exists; its accounts and passwords are in ${file}.`;
  const lines: string[] = [];
  const userFor = async (role: DemoRole, name: string): Promise<Actor> => {
    const { email } = DEMO[role];
    const existing = await findUserByEmail(db, email);
    if (existing) return existing; // an account made before keeps its own password
    const password = randomBytes(12).toString('base64url');
    lines.push(`${email} ${password} ${role}`);
    return createUser(db, { email, password, role, name });
  };
  await userFor('admin', 'Ada Admin');
  const teacher = await userFor('teacher', 'Dana Teacher');
  const student = await userFor('student', 'Sam Student');
  const course = await createCourse(db, teacher, { title: 'Software Project (demo)', code: DEMO.courseCode, timezone: 'Europe/Berlin' });
  await addMember(db, teacher, course.id, student.id);
  const stages = [
    { name: 'Proposal', description: 'One page: the problem, the users, the plan.', startDate: now - 14 * DAY, endDate: now - 7 * DAY },
    { name: 'Prototype', description: 'A working slice of the product, demoed in class.', startDate: now - 2 * DAY, endDate: now + 5 * DAY },
    { name: 'Final report', description: 'What was built, what was learned, what is next.', startDate: now + 7 * DAY, endDate: now + 21 * DAY },
  ];
  for (const stage of stages) await createStage(db, teacher, course.id, stage);
  keepDemoAccounts(dataDir, lines);
  // Printed this once; afterwards only the file has them.
  return `Created demo course ${DEMO.courseCode} with 3 stages. Sign in as (email password role; the admin has the scheduler console at /scheduler):\n${lines.map((l) => `  ${l}`).join('\n')}\nThese passwords are shown only now; they are kept in ${file} (readable by this user only).`;
}
