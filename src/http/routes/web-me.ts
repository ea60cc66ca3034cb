// The signed-in user's own pages: their notifications (the bell's) and their
// profile with the calendar feed address.
import { Router, type RequestHandler } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { listNotifications, markAllRead, unreadCount } from '../../domain/notifications.js';
import { hasFeed, newFeedToken } from '../../domain/calendar-feeds.js';
import { feedUrl } from './calendar.js';
import { say } from '../../i18n/request-language.js';

/** The bell's count on every page a signed-in person reads. */
export function notificationBell(db: Knex): RequestHandler {
  return (req, res, next) => {
    if (!req.actor || req.path.startsWith('/api/') || req.method !== 'GET') return next();
    unreadCount(db, req.actor.id).then((n) => {
      res.locals.unread = n;
      next();
    }, next);
  };
}

export function webMeRoutes({ db, publicUrl }: { db: Knex; publicUrl: string }): Router {
  const router = Router();
  router.use(['/notifications', '/profile'], (req, res, next) => (req.actor ? next() : res.redirect(303, '/login')));
  router.get('/notifications', async (req, res) => {
    res.render('notifications', { title: say('titles.notifications'), notifications: await listNotifications(db, actorOf(req).id) });
  });
  router.post('/notifications/read-all', async (req, res) => {
    await markAllRead(db, actorOf(req).id);
    res.redirect(303, '/notifications');
  });
  router.get('/profile', async (req, res) => {
    res.render('profile', { title: say('titles.profile'), feedUrl: null, hasFeed: await hasFeed(db, actorOf(req).id) });
  });
  // Only the hash is kept: the address is shown once, when it is made.
  router.post('/profile/calendar', async (req, res) => {
    const url = feedUrl(publicUrl, await newFeedToken(db, actorOf(req).id));
    res.render('profile', { title: say('titles.profile'), feedUrl: url, hasFeed: true });
  });
  return router;
}
