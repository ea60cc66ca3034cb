// Pages: a stage's overrides (extensions) for its teacher. The stage page
// lists them; "Extend for…" is one form for one student or team or many at
// once: it creates or replaces each chosen one's window in one transaction
// (bulkOverrides), so a teacher who extends someone again simply moves their
// dates. Form dates are wall times in the course's time zone.
import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { listMembers, type Course } from '../../domain/courses.js';
import { bulkOverrides, deleteOverride, getManagedOverride, listOverrides, type Override, type OverrideInput } from '../../domain/overrides.js';
import { getManagedStage, type ManagedStage } from '../../domain/stages.js';
import { listTeams } from '../../domain/teams.js';
import type { Stage } from '../../domain/stage-row.js';
import { ValidationError, type FieldProblem } from '../../errors.js';
import { parseId } from '../../validation.js';
import { readableBody } from '../body.js';
import { flash, formValues, renderFormError } from '../forms.js';
import { formatLocal, localInputToUtcMs, utcMsToLocalInput } from '../local-time.js';
import { say } from '../../i18n/request-language.js';

/** The most students a course's override form lists; the API takes any. */
const MAX_LISTED_STUDENTS = 2000;
const MAX_REASON = 500;

/** Whom an override may be for, as the form names them: `user:<id>` or `team:<id>`. */
interface Candidates {
  students: { key: string; id: number; label: string }[];
  teams: { key: string; id: number; label: string }[];
  names: Map<string, string>;
}

async function overrideCandidates(db: Knex, managed: ManagedStage): Promise<Candidates> {
  const { actor, stage } = managed;
  const [members, teams] = await Promise.all([listMembers(db, actor, stage.courseId, { limit: MAX_LISTED_STUDENTS }), listTeams(db, actor, stage.courseId)]);
  const students = members.items.map((m) => ({ key: `user:${m.id}`, id: m.id, label: `${m.name} (${m.email})` }));
  const teamList = teams.map((t) => ({ key: `team:${t.id}`, id: t.id, label: say('overrides.team', { name: t.name }) }));
  return { students, teams: teamList, names: new Map([...students, ...teamList].map((c) => [c.key, c.label])) };
}

const keyOf = (o: Pick<Override, 'teamId' | 'userId'>) => (o.teamId !== null ? `team:${o.teamId}` : `user:${o.userId}`);

/** The stage page's list: who, their window in the course's zone, and whether it now ends before the stage. */
function overrideRows(overrides: Override[], stage: Stage, course: Course, names: Map<string, string>) {
  const zone = course.timezone;
  return overrides.map((o) => ({
    id: o.id,
    key: keyOf(o),
    who: names.get(keyOf(o)) ?? (o.teamId !== null ? say('overrides.teamNumber', { id: o.teamId }) : say('overrides.studentNumber', { id: o.userId })),
    start: o.startDate === null ? null : formatLocal(o.startDate, zone),
    end: formatLocal(o.endDate, zone),
    cutoff: o.cutoffDate === null ? null : formatLocal(o.cutoffDate, zone),
    reason: o.reason,
    // A teacher who later moves the stage's end past an extension's has shortened that extension.
    endsBeforeStage: o.endDate < stage.endDate,
  }));
}

/** The stage's overrides as its teacher's list on the stage page shows them. */
export async function teacherOverrides(db: Knex, managed: ManagedStage) {
  const [overrides, candidates] = await Promise.all([listOverrides(db, managed), overrideCandidates(db, managed)]);
  return overrideRows(overrides, managed.stage, managed.course, candidates.names);
}

/** Every value of a repeated form field (checkboxes), as strings. */
function allValues(body: unknown, name: string): string[] {
  const value = ((readableBody(body) ?? {}) as Record<string, unknown>)[name];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');
}

const WINDOW_FIELDS = ['startDate', 'endDate', 'cutoffDate', 'reason'] as const;
type WindowValues = Record<(typeof WINDOW_FIELDS)[number], string>;

/** The chosen people and the window as override inputs, or one ValidationError naming every bad field. */
function overrideInputs(who: string[], values: WindowValues, zone: string, candidates: Candidates): OverrideInput[] {
  const problems: FieldProblem[] = [];
  if (who.length === 0) problems.push({ field: 'who', message: 'must name at least one student or team' });
  const unknown = who.find((key) => !candidates.names.has(key));
  if (unknown) problems.push({ field: 'who', message: 'must be students or teams of the course' });
  const dates: Record<string, number | null> = {};
  for (const field of ['startDate', 'endDate', 'cutoffDate'] as const) {
    if (values[field].trim() === '') {
      if (field === 'endDate') problems.push({ field, message: 'is required' });
      dates[field] = null;
      continue;
    }
    const local = localInputToUtcMs(values[field], zone);
    if (local.ok) dates[field] = local.ms;
    else problems.push({ field, message: local.message });
  }
  if (values.reason.length > MAX_REASON) problems.push({ field: 'reason', message: `must be at most ${MAX_REASON} characters` });
  if (problems.length) throw new ValidationError(problems);
  return who.map((key) => {
    const [kind, id] = key.split(':');
    const target = kind === 'team' ? { teamId: Number(id) } : { userId: Number(id) };
    return { ...target, startDate: dates.startDate, endDate: dates.endDate as number, cutoffDate: dates.cutoffDate, reason: values.reason };
  });
}

/** A bulk list's problem (`items.3.endDate`) as the form's field: the window is shared, so only the field counts. */
function asFormError(err: unknown, who: string[], names: Map<string, string>): unknown {
  if (!(err instanceof ValidationError)) return err;
  return new ValidationError(
    err.problems.map((problem) => {
      const match = /^items\.(\d+)\.(\w+)$/.exec(problem.field);
      if (!match) return problem;
      const field = match[2] === 'teamId' || match[2] === 'userId' ? 'who' : match[2];
      const name = names.get(who[Number(match[1])] ?? '');
      return { field, message: field === 'who' && name ? `${name}: ${problem.message}` : problem.message };
    }),
  );
}

/** The "Extend for…" form: everyone it may be for, who is chosen, the window. */
async function formPage(db: Knex, managed: ManagedStage, values: WindowValues, chosen: string[]) {
  const { stage, course } = managed;
  const candidates = await overrideCandidates(db, managed);
  return {
    title: say('titles.extend', { name: stage.name }),
    stage,
    course,
    candidates,
    chosen: new Set(chosen),
    values,
    stageEnd: formatLocal(stage.endDate, course.timezone),
    errors: {},
  };
}

export function webOverrideRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  router.get('/stages/:id/overrides/new', async (req: Request, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    const { stage, course } = managed;
    const zone = course.timezone;
    // "Edit" on the list opens this form for that one, with their dates.
    const chosen = typeof req.query.for === 'string' ? [req.query.for] : [];
    const existing = chosen.length ? (await listOverrides(db, managed)).find((o) => keyOf(o) === chosen[0]) : undefined;
    const values: WindowValues = existing
      ? {
          startDate: existing.startDate === null ? '' : utcMsToLocalInput(existing.startDate, zone),
          endDate: utcMsToLocalInput(existing.endDate, zone),
          cutoffDate: existing.cutoffDate === null ? '' : utcMsToLocalInput(existing.cutoffDate, zone),
          reason: existing.reason,
        }
      : { startDate: '', endDate: utcMsToLocalInput(stage.endDate, zone), cutoffDate: '', reason: '' };
    res.render('override-form', await formPage(db, managed, values, chosen));
  });

  router.post('/stages/:id/overrides/new', async (req, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    const values = formValues(req.body, WINDOW_FIELDS);
    const who = allValues(req.body, 'who');
    try {
      const candidates = await overrideCandidates(db, managed);
      const inputs = overrideInputs(who, values, managed.course.timezone, candidates);
      try {
        await bulkOverrides(db, managed, inputs);
      } catch (err) {
        throw asFormError(err, who, candidates.names);
      }
      flash(req, inputs.length === 1 ? say('flash.extendedFor', { who: candidates.names.get(who[0]) }) : say('flash.extendedForMany', { count: inputs.length }));
      res.redirect(303, `/stages/${managed.stage.id}#overrides`);
    } catch (err) {
      await renderFormError(res, err, 'override-form', () => formPage(db, managed, values, who));
    }
  });

  router.post('/overrides/:id/delete', async (req, res) => {
    const found = await getManagedOverride(db, actorOf(req), parseId(req.params.id));
    await deleteOverride(db, found);
    flash(req, say('flash.overrideRemoved'));
    res.redirect(303, `/stages/${found.managed.stage.id}#overrides`);
  });

  return router;
}
