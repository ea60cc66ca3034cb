// Request bodies the API and the forms accept. Bodies are strict objects: a
// field the API does not know is a 400 naming it, not silently dropped.
import { z, email, id, instant, nonEmpty, timezone } from '../validation.js';
import { normaliseExtension, STAGE_MODES } from '../domain/file-policy.js';

export const courseSchema = z.strictObject({
  title: nonEmpty(200),
  code: nonEmpty(40),
  timezone: timezone.optional(),
  teacherId: id.optional(),
});

export const courseUpdateSchema = courseSchema.partial();

/** A list of reminders as given; whether each is a positive ISO duration that fits is the domain's to say. */
const reminderList = z
  .array(z.string().max(40, 'must be ISO-8601 durations such as P1D or PT2H'), { message: 'must be a list of ISO-8601 durations such as ["P1D","PT2H"]' })
  .nullable()
  .transform((list) => list ?? []);

/** A course's default reminders for its new stages. */
export const courseRemindersSchema = z.strictObject({ reminders: reminderList });

const stageFields = {
  name: nonEmpty(200),
  description: z.string().max(10_000, 'must be at most 10000 characters').optional(),
  startDate: instant,
  endDate: instant,
  // null: no late window (nothing taken after endDate).
  cutoffDate: instant.nullable().optional(),
  mode: z.enum(STAGE_MODES, { message: `must be one of ${STAGE_MODES.join(', ')}` }).optional(),
  // null: back to UPLOAD_MAX_BYTES. Above it is refused where the ceiling is known (checkMaxFileBytes).
  maxFileBytes: z.number().int('must be a whole number of bytes').positive('must be at least 1').nullable().optional(),
  allowedExtensions: z
    .array(z.string().regex(/^\.?[A-Za-z0-9_-]{1,20}$/, 'each must be an extension such as .pdf'))
    .max(50, 'must list at most 50 extensions')
    .transform((list) => [...new Set(list.map(normaliseExtension))])
    .optional(),
  // null: none. Not given on create: the course's defaults. Checked by the domain (reminder-offsets.ts), which names `reminders`.
  reminders: reminderList.optional(),
};

export const stageSchema = z.strictObject(stageFields);
export const stageUpdateSchema = z.strictObject(stageFields).partial();

/** A stage form's text fields; its dates come as local times (see local-time.ts). */
export const stageTextSchema = stageSchema.pick({ name: true, description: true });

export const submissionSchema = z.strictObject({
  body: z.string().trim().max(100_000, 'must be at most 100000 characters').optional(),
  link: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2000).optional(),
});

export const teamSchema = z.strictObject({
  name: nonEmpty(200),
  memberIds: z.array(id).max(500, 'must list at most 500 students').optional(),
});

export const teamUpdateSchema = teamSchema.partial();

/** Adding a member: the student's email, as the course page's form sends it. */
export const memberSchema = z.strictObject({ email });

/**
 * `?limit=&cursor=` of every paged list. The cursor is opaque to clients: each
 * list decodes the one it handed out (see paging.ts). Query strings are not
 * strict: a cache-busting parameter is no mistake.
 */
export const pageSchema = z.object({
  limit: z.coerce.number().int().min(1, 'must be between 1 and 200').max(200, 'must be between 1 and 200').default(50),
  cursor: z.string().max(100, 'is not a cursor this list gave out').optional(),
});

/** `?force=true` on a delete: an admin removes what still has students' submissions. */
export const deleteSchema = z.object({
  force: z.enum(['true', 'false'], { message: 'must be true or false' }).optional().transform((value) => value === 'true'),
});

const overrideWindow = {
  // null: the stage's start (or cut-off) holds.
  startDate: instant.nullable().optional(),
  endDate: instant,
  cutoffDate: instant.nullable().optional(),
  reason: z.string().trim().max(500, 'must be at most 500 characters').optional(),
};

/** An override for a team or a student: exactly one of teamId / userId (checked by the domain, naming teamId). */
export const overrideSchema = z.strictObject({ teamId: id.nullable().optional(), userId: id.nullable().optional(), ...overrideWindow });

/** Who an override is for does not change: a new one is made for someone else. */
export const overrideUpdateSchema = z.strictObject(overrideWindow).partial();

export const overrideBulkSchema = z.strictObject({
  items: z.array(overrideSchema).min(1, 'must list at least one override').max(1000, 'must list at most 1000 overrides'),
});
