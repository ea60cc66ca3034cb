// Calendar feeds: the signed-in user makes or revokes their secret address
// (/api/me/calendar); the feed itself (/calendar/<token>.ics) needs no session.
import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { feedOwner, newFeedToken, revokeFeedToken } from '../../domain/calendar-feeds.js';
import { NotFoundError } from '../../errors.js';
import { calendarFeed } from '../calendar-feed.js';

export const feedUrl = (publicUrl: string, token: string) => `${publicUrl}/calendar/${token}.ics`;

export function calendarApiRoutes({ db, publicUrl }: { db: Knex; publicUrl: string }): Router {
  const router = Router();
  router.post('/me/calendar', async (req, res) => {
    res.status(201).json({ url: feedUrl(publicUrl, await newFeedToken(db, actorOf(req).id)) });
  });
  router.delete('/me/calendar', async (req, res) => {
    await revokeFeedToken(db, actorOf(req).id);
    res.status(204).end();
  });
  return router;
}

export function calendarFeedRoutes({ db, publicUrl }: { db: Knex; publicUrl: string }): Router {
  const router = Router();
  router.get('/calendar/:file', async (req, res) => {
    const file = req.params.file;
    const owner = file.endsWith('.ics') ? await feedOwner(db, file.slice(0, -4)) : null;
    if (owner === null) throw new NotFoundError('Calendar feed');
    res.type('text/calendar; charset=utf-8').send(await calendarFeed(db, owner, publicUrl));
  });
  return router;
}
