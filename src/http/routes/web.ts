// Server-rendered pages for people: sign in, courses, stages, submissions.
import { Router } from 'express';
import type { Knex } from 'knex';
import { authenticate } from '../../domain/users.js';
import type { StageEvents } from '../../domain/stage-events.js';

export function webRoutes({ db }: { db: Knex; stageEvents: StageEvents }): Router {
  const router = Router();

  router.get('/login', (req, res) => {
    req.session.visited = true; // keeps one session id, which the CSRF token is bound to
    res.render('login', { title: 'Sign in', csrfToken: req.csrfToken!(), error: null, email: '' });
  });

  router.post('/login', async (req, res) => {
    const email = String(req.body?.email ?? '');
    const user = await authenticate(db, email, String(req.body?.password ?? ''));
    if (!user) {
      res.status(401).render('login', { title: 'Sign in', csrfToken: req.csrfToken!(), error: 'Email or password is wrong', email });
      return;
    }
    // A fresh session id on sign-in prevents session fixation.
    req.session.regenerate((err) => {
      if (err) throw err;
      req.session.userId = user.id;
      req.session.save(() => res.redirect(303, '/courses'));
    });
  });

  router.post('/logout', (req, res) => {
    req.session.destroy(() => res.redirect(303, '/login'));
  });

  router.get('/', (req, res) => res.redirect(req.actor ? '/courses' : '/login'));

  return router;
}
