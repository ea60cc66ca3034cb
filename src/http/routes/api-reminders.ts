// Reminders in the API: a user's notices, and a stage's reminders for its teacher.
import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { getManagedStage } from '../../domain/stages.js';
import { getManagedCourse } from '../../domain/courses.js';
import { listNotifications, markAllRead, markRead } from '../../domain/notifications.js';
import { reminderRecordJson, stageReminders } from '../../domain/reminder-outbox.js';
import { readDefaultReminders, setDefaultReminders } from '../../domain/course-reminders.js';
import { courseRemindersSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';
import { readableBody } from '../body.js';

export function reminderRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  router.get('/me/notifications', async (req, res) => {
    const actor = actorOf(req);
    // The contract's fields; a reminder's parts are for the pages.
    res.json({ items: (await listNotifications(db, actor.id)).map(({ reminder: _parts, ...item }) => item) });
  });

  router.post('/me/notifications/read-all', async (req, res) => {
    res.json({ marked: await markAllRead(db, actorOf(req).id) });
  });

  router.post('/me/notifications/:id/read', async (req, res) => {
    await markRead(db, actorOf(req).id, parseId(req.params.id));
    res.status(204).end();
  });

  // The course's teacher and admins: decided before anything else is read.
  router.get('/stages/:id/reminders', async (req, res) => {
    const { stage } = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    res.json({ items: (await stageReminders(db, stage.id)).map(reminderRecordJson) });
  });

  router.get('/courses/:id/reminders', async (req, res) => {
    res.json({ reminders: await readDefaultReminders(db, actorOf(req), parseId(req.params.id)) });
  });

  router.put('/courses/:id/reminders', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    await getManagedCourse(db, actor, id);
    const { reminders } = parseInput(courseRemindersSchema, readableBody(req.body));
    res.json({ reminders: await setDefaultReminders(db, actor, id, reminders) });
  });

  return router;
}
