// A demo course to see the app working: one stage done, one open, one ahead,
// and an admin, a teacher and a student to see it as. Development only: the
// passwords are in the README (welcome seeds it only where DEMO_DATA allows).
import type { Knex } from 'knex';
import { createUser, findUserByEmail, type Actor } from '../domain/users.js';
import { addMember, createCourse } from '../domain/courses.js';
import { createStage } from '../domain/stages.js';
import { DAY } from '../time.js';

export const DEMO = {
  courseCode: 'DEMO-101',
  admin: { email: 'admin@example.com', password: 'admin-demo-pass' },
  teacher: { email: 'teacher@example.com', password: 'teacher-demo-pass' },
  student: { email: 'student@example.com', password: 'student-demo-pass' },
};

async function userFor(db: Knex, account: { email: string; password: string }, role: 'admin' | 'teacher' | 'student', name: string): Promise<Actor> {
  return (await findUserByEmail(db, account.email)) ?? createUser(db, { ...account, role, name });
}

export async function seedDemo(db: Knex, now = Date.now()): Promise<string> {
  const login =
    `Sign in as ${DEMO.admin.email} / ${DEMO.admin.password} (admin: the scheduler console at /scheduler), ` +
    `${DEMO.teacher.email} / ${DEMO.teacher.password} (teacher) or ${DEMO.student.email} / ${DEMO.student.password} (student).`;
  if (await db('courses').where({ code: DEMO.courseCode }).first('id')) return `Demo course ${DEMO.courseCode} already exists. ${login}`;
  await userFor(db, DEMO.admin, 'admin', 'Ada Admin');
  const teacher = await userFor(db, DEMO.teacher, 'teacher', 'Dana Teacher');
  const student = await userFor(db, DEMO.student, 'student', 'Sam Student');
  const course = await createCourse(db, teacher, { title: 'Software Project (demo)', code: DEMO.courseCode, timezone: 'Europe/Berlin' });
  await addMember(db, teacher, course.id, student.id);
  const stages = [
    { name: 'Proposal', description: 'One page: the problem, the users, the plan.', startDate: now - 14 * DAY, endDate: now - 7 * DAY },
    { name: 'Prototype', description: 'A working slice of the product, demoed in class.', startDate: now - 2 * DAY, endDate: now + 5 * DAY },
    { name: 'Final report', description: 'What was built, what was learned, what is next.', startDate: now + 7 * DAY, endDate: now + 21 * DAY },
  ];
  for (const stage of stages) await createStage(db, teacher, course.id, stage);
  return `Created demo course ${DEMO.courseCode} with 3 stages. ${login}`;
}
