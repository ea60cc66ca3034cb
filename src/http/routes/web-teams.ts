// Pages: the course's teams, managed from the course page with plain forms:
// create, rename, move a student (one step, out of their old team), delete
// an empty team. Each answers with the course page and a message.
import { Router, type Response } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { assignStudent, createTeam, deleteTeam, getManagedTeam, updateTeam } from '../../domain/teams.js';
import { ConflictError, ValidationError } from '../../errors.js';
import { teamSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';
import { flash, formValues, withoutBlanks } from '../forms.js';
import type { Request } from 'express';
import { requestLanguage, say } from '../../i18n/request-language.js';
import { translateMessage } from '../../i18n/messages.js';

/** A refused team form: the message goes back to the course page, at its teams. */
async function orBack(req: Request, res: Response, courseId: number, work: () => Promise<string>): Promise<void> {
  try {
    flash(req, await work());
  } catch (err) {
    if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
    flash(req, translateMessage(err.message, requestLanguage()));
  }
  res.redirect(303, `/courses/${courseId}#teams`);
}

export function webTeamRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  router.post('/courses/:id/teams', async (req, res) => {
    const actor = actorOf(req);
    const courseId = parseId(req.params.id);
    await orBack(req, res, courseId, async () => {
      const team = await createTeam(db, actor, courseId, parseInput(teamSchema, withoutBlanks(formValues(req.body, ['name']))));
      return say('flash.teamCreated', { name: team.name });
    });
  });

  router.post('/courses/:id/teams/assign', async (req, res) => {
    const actor = actorOf(req);
    const courseId = parseId(req.params.id);
    const { userId, teamId } = formValues(req.body, ['userId', 'teamId']);
    await orBack(req, res, courseId, async () => {
      await assignStudent(db, actor, courseId, parseId(userId, 'userId'), teamId === '' ? null : parseId(teamId, 'teamId'));
      return teamId === '' ? say('flash.studentOutOfTeam') : say('flash.studentMoved');
    });
  });

  router.post('/teams/:id/rename', async (req, res) => {
    const actor = actorOf(req);
    const { team, course } = await getManagedTeam(db, actor, parseId(req.params.id));
    await orBack(req, res, course.id, async () => {
      const renamed = await updateTeam(db, actor, team.id, parseInput(teamSchema.pick({ name: true }), withoutBlanks(formValues(req.body, ['name']))));
      return say('flash.teamRenamed', { from: team.name, to: renamed.name });
    });
  });

  router.post('/teams/:id/delete', async (req, res) => {
    const actor = actorOf(req);
    const { team, course } = await getManagedTeam(db, actor, parseId(req.params.id));
    await orBack(req, res, course.id, async () => {
      if (team.memberIds.length > 0) throw new ConflictError(`Team "${team.name}" still has members: move them out first`);
      await deleteTeam(db, actor, team.id);
      return say('flash.teamDeleted', { name: team.name });
    });
  });

  return router;
}
