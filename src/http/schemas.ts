// Request bodies the API and the forms accept.
import { z, id, instant, nonEmpty, timezone } from '../validation.js';

export const courseSchema = z.object({
  title: nonEmpty(200),
  code: nonEmpty(40),
  timezone: timezone.optional(),
  teacherId: id.optional(),
});

export const courseUpdateSchema = courseSchema.partial();

const stageFields = {
  name: nonEmpty(200),
  description: z.string().max(10_000, 'must be at most 10000 characters').optional(),
  startDate: instant,
  endDate: instant,
};

export const stageSchema = z.object(stageFields);
export const stageUpdateSchema = z.object(stageFields).partial();

/** A stage form's text fields; its dates come as local times (see local-time.ts). */
export const stageTextSchema = stageSchema.pick({ name: true, description: true });

export const submissionSchema = z.object({
  body: z.string().trim().max(100_000, 'must be at most 100000 characters').optional(),
  link: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2000).optional(),
});

export const memberSchema = z.object({ userId: id });

export const pageSchema = z.object({
  limit: z.coerce.number().int().min(1, 'must be between 1 and 200').max(200, 'must be between 1 and 200').default(50),
  cursor: id.optional(),
});
