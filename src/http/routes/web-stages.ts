// Pages: a stage with its history and submissions, the stage forms, and
// handing in work. Form dates are wall times in the course's time zone.
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { canManage, getManagedCourse, type Course } from '../../domain/courses.js';
import { reminderRows } from '../stage-reminders-view.js';
import {
  countStageSubmissions,
  createStage,
  deleteStage,
  getManagedStage,
  getVisibleStage,
  updateStage,
  type Stage,
  type StageInput,
} from '../../domain/stages.js';
import { getStageToSubmitTo, type SubmissionKey } from '../../domain/submissions.js';
import { listTransitions } from '../../domain/stage-transitions.js';
import { stageWindowView } from '../stage-window-view.js';
import { listLatestSubmissions } from '../../domain/submission-latest.js';
import { handInView } from '../stage-hand-in-view.js';
import { handIn } from '../hand-in.js';
import type { Actor } from '../../domain/users.js';
import { dbNowMs } from '../../db/clock.js';
import { ConflictError, ValidationError, type FieldProblem } from '../../errors.js';
import { stageTextSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';
import { flash, formValues, renderFormError, withoutBlanks } from '../forms.js';
import { formatLocal, localInputToUtcMs, utcMsToLocalInput } from '../local-time.js';
import { decodeCursor, encodeCursor } from '../paging.js';
import { transitionLagMs } from '../../domain/stage-boundaries.js';
import { EMPTY_POLICY, fmtMiB, POLICY_FIELDS, policyFromForm, policyValues } from '../stage-form-policy.js';
import type { UploadSettings } from '../../config.js';
import { teacherOverrides } from './web-overrides.js';
import { requestLanguage, say } from '../../i18n/request-language.js';
import { translateMessage } from '../../i18n/messages.js';

/** Judges a multipart form's CSRF token (csrf.ts formTokenChecker). */
export type FormTokenCheck = (req: Request, token: string | undefined) => void;

interface StageRouteDeps {
  db: Knex;
  uploads: UploadSettings;
  checkFormToken: FormTokenCheck;
}

/** A transition's lag for the history: "120 ms", "2.5 s"; null when it has none (edits). */
function lagText(lagMs: number | null): string | null {
  if (lagMs === null) return null;
  return lagMs < 1000 ? say('units.ms', { n: lagMs }) : say('units.s', { n: (lagMs / 1000).toFixed(1) });
}

/** Submissions per stage page, newest first; older ones are a link away. */
const SUBMISSIONS_PER_PAGE = 20;
/** Status changes shown; a stage has a few unless edited back and forth. */
const HISTORY_LIMIT = 200;

const STAGE_FIELDS = ['name', 'description', 'startDate', 'endDate', 'cutoffDate', ...POLICY_FIELDS] as const;
type StageValues = Record<(typeof STAGE_FIELDS)[number], string>;

/** The form's values as a StageInput, or one ValidationError naming every bad field. */
function stageInput(values: StageValues, zone: string, uploadMaxBytes: number): StageInput {
  const problems: FieldProblem[] = [];
  let text: { name: string; description?: string } | undefined;
  try {
    text = parseInput(stageTextSchema, withoutBlanks({ name: values.name, description: values.description }));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    problems.push(...err.problems);
  }
  const dates: number[] = [];
  for (const field of ['startDate', 'endDate'] as const) {
    const local = localInputToUtcMs(values[field], zone);
    if (local.ok) dates.push(local.ms);
    else problems.push({ field, message: local.message });
  }
  // An empty cut-off: none, work is refused from the end on.
  const cutoff = values.cutoffDate.trim() === '' ? null : localInputToUtcMs(values.cutoffDate, zone);
  if (cutoff && !cutoff.ok) problems.push({ field: 'cutoffDate', message: cutoff.message });
  const policy = policyFromForm(values, uploadMaxBytes, problems);
  if (problems.length || !text || !policy) throw new ValidationError(problems);
  return { ...text, description: text.description ?? '', startDate: dates[0], endDate: dates[1], cutoffDate: cutoff?.ok ? cutoff.ms : null, ...policy };
}

function stageValues(stage: Stage, zone: string): StageValues {
  return {
    name: stage.name,
    description: stage.description,
    startDate: utcMsToLocalInput(stage.startDate, zone),
    endDate: utcMsToLocalInput(stage.endDate, zone),
    cutoffDate: stage.cutoffDate === null ? '' : utcMsToLocalInput(stage.cutoffDate, zone),
    ...policyValues(stage),
  };
}

const EMPTY_STAGE: StageValues = { name: '', description: '', startDate: '', endDate: '', cutoffDate: '', ...EMPTY_POLICY };

export function webStageRoutes(deps: StageRouteDeps): Router {
  const router = Router();
  stageFormRoutes(router, deps);
  stageViewRoutes(router, deps);
  stageDeleteRoutes(router, deps.db);
  return router;
}

function formPage(uploads: UploadSettings, course: Course, stage: Stage | null, values: StageValues) {
  return {
    title: stage ? say('titles.editStage', { name: stage.name }) : say('titles.newStage'),
    course,
    stage,
    values,
    action: stage ? `/stages/${stage.id}/edit` : `/courses/${course.id}/stages/new`,
    errors: {},
    uploadMaxMiB: fmtMiB(uploads.maxBytes),
  };
}

async function stagePage({ db, uploads }: StageRouteDeps, actor: Actor, id: number, extra: { values?: object; refusal?: string; before?: SubmissionKey } = {}) {
  const { stage, course, member } = await getVisibleStage(db, actor, id);
  const manage = canManage(actor, course);
  const [transitions, submissions, now] = await Promise.all([
    listTransitions(db, actor, id, { limit: HISTORY_LIMIT }),
    listLatestSubmissions(db, actor, id, { limit: SUBMISSIONS_PER_PAGE, after: extra.before }),
    dbNowMs(db),
  ]);
  const handIn = await handInView(db, uploads, actor, stage, course, manage, submissions.items);
  const reminders = manage ? await reminderRows(db, actor, course, stage.id) : [];
  const zone = course.timezone;
  const overrides = manage ? await teacherOverrides(db, { actor, stage, course }) : [];
  return {
    title: stage.name,
    stage,
    course,
    canManage: manage,
    reminders,
    isStudent: actor.role === 'student' && member,
    ...(await stageWindowView(db, stage, zone, { studentId: actor.role === 'student' && member ? actor.id : null, now })),
    transitions: transitions.items.map((t) => ({ ...t, at: formatLocal(t.at, zone), lag: lagText(transitionLagMs(t, stage)) })),
    submissions: submissions.items.map((s) => ({ ...s, at: formatLocal(s.createdAt, zone) })),
    // Paging through submissions: `?before=` the last one shown.
    olderSubmissions: submissions.nextCursor && encodeCursor([submissions.nextCursor.createdAt, submissions.nextCursor.id]),
    newestShown: extra.before === undefined,
    handIn,
    overrides,
    values: extra.values ?? { body: '', link: '' },
    refusal: extra.refusal ?? null,
    errors: {},
  };
}

/** The new-stage and edit forms. */
function stageFormRoutes(router: Router, { db, uploads }: StageRouteDeps): void {
  router.get('/courses/:id/stages/new', async (req, res) => {
    const course = await getManagedCourse(db, actorOf(req), parseId(req.params.id));
    res.render('stage-form', formPage(uploads, course, null, EMPTY_STAGE));
  });

  router.post('/courses/:id/stages/new', async (req, res) => {
    const actor = actorOf(req);
    const course = await getManagedCourse(db, actor, parseId(req.params.id));
    const values = formValues(req.body, STAGE_FIELDS);
    try {
      const stage = await createStage(db, actor, course.id, stageInput(values, course.timezone, uploads.maxBytes));
      flash(req, say('flash.stageCreated', { name: stage.name }));
      res.redirect(303, `/courses/${course.id}`);
    } catch (err) {
      await renderFormError(res, err, 'stage-form', () => formPage(uploads, course, null, values));
    }
  });

  router.get('/stages/:id/edit', async (req, res) => {
    const { stage, course } = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    res.render('stage-form', formPage(uploads, course, stage, stageValues(stage, course.timezone)));
  });

  router.post('/stages/:id/edit', async (req, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    const { stage, course } = managed;
    const values = formValues(req.body, STAGE_FIELDS);
    try {
      const updated = await updateStage(db, managed, stageInput(values, course.timezone, uploads.maxBytes));
      flash(req, say('flash.stageSaved', { name: updated.name }));
      res.redirect(303, `/stages/${stage.id}`);
    } catch (err) {
      await renderFormError(res, err, 'stage-form', () => formPage(uploads, course, stage, values));
    }
  });
}

/** The stage page, and handing in work from it. */
function stageViewRoutes(router: Router, deps: StageRouteDeps): void {
  const { db, uploads, checkFormToken } = deps;
  router.get('/stages/:id', async (req, res) => {
    const cursor = decodeCursor(typeof req.query.before === 'string' ? req.query.before : undefined, 2);
    const before = cursor && { createdAt: cursor[0], id: cursor[1] };
    res.render('stage', await stagePage(deps, actorOf(req), parseId(req.params.id), { before }));
  });

  router.post('/stages/:id/submissions', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    let values = { body: '', link: '' };
    try {
      // Who may hand in work is decided before the form is read.
      const target = await getStageToSubmitTo(db, actor, id);
      const form = { checkToken: (token: string | undefined) => checkFormToken(req, token) };
      await handIn({ db, uploads }, req, actor, target, { form, onFields: (fields) => (values = formValues(fields, ['body', 'link'])) });
      flash(req, say('flash.handedIn'));
      res.redirect(303, `/stages/${id}`);
    } catch (err) {
      if (err instanceof ConflictError) {
        res.status(409).render('stage', await stagePage(deps, actor, id, { values, refusal: translateMessage(err.message, requestLanguage()) }));
        return;
      }
      await renderFormError(res, err, 'stage', () => stagePage(deps, actor, id, { values }));
    }
  });
}

/** Deleting a stage, with the submissions it would take along. */
function stageDeleteRoutes(router: Router, db: Knex): void {
  async function deletePage(actor: Actor, id: number, refusal: string | null = null) {
    const { stage, course } = await getManagedStage(db, actor, id);
    const submissions = await countStageSubmissions(db, stage.id);
    return { title: say('titles.deleteStage', { name: stage.name }), stage, course, submissions, isAdmin: actor.role === 'admin', refusal };
  }

  router.get('/stages/:id/delete', async (req, res) => {
    res.render('stage-delete', await deletePage(actorOf(req), parseId(req.params.id)));
  });

  router.post('/stages/:id/delete', async (req, res) => {
    const actor = actorOf(req);
    const managed = await getManagedStage(db, actor, parseId(req.params.id));
    const { stage, course } = managed;
    // The checkbox an admin ticks to delete students' submissions with the stage.
    const force = formValues(req.body, ['force']).force === 'true';
    try {
      await deleteStage(db, managed, { force });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      res.status(409).render('stage-delete', await deletePage(actor, stage.id, translateMessage(err.message, requestLanguage())));
      return;
    }
    flash(req, say('flash.stageDeleted', { name: stage.name }));
    res.redirect(303, `/courses/${course.id}`);
  });
}
