// The stage form's fields for how work is taken: individual or team, the
// largest file in MiB (people do not count bytes), and the extensions as a
// comma-separated list. They are judged by the API's own schema and ceiling.
import { ValidationError, type FieldProblem } from '../errors.js';
import { checkMaxFileBytes, type StageMode } from '../domain/file-policy.js';
import type { Stage } from '../domain/stages.js';
import { parseInput } from '../validation.js';
import { stageSchema } from './schemas.js';

export const POLICY_FIELDS = ['mode', 'maxFileMiB', 'allowedExtensions'] as const;
export type PolicyValues = Record<(typeof POLICY_FIELDS)[number], string>;

export const EMPTY_POLICY: PolicyValues = { mode: 'individual', maxFileMiB: '', allowedExtensions: '' };

const MIB = 1024 * 1024;
const policySchema = stageSchema.pick({ mode: true, maxFileBytes: true, allowedExtensions: true });

export interface PolicyInput {
  mode?: StageMode;
  maxFileBytes: number | null;
  allowedExtensions: string[];
}

/** The form's policy, or the problems to show beside its fields (pushed onto `problems`). */
export function policyFromForm(values: PolicyValues, uploadMaxBytes: number, problems: FieldProblem[]): PolicyInput | undefined {
  const mib = values.maxFileMiB.trim();
  const bytes = mib === '' ? null : Math.round(Number(mib) * MIB);
  if (mib !== '' && !(Number.isFinite(bytes) && bytes! > 0)) {
    problems.push({ field: 'maxFileMiB', message: 'must be a number of MiB above 0, or blank' });
    return undefined;
  }
  const extensions = values.allowedExtensions.split(/[\s,]+/).filter(Boolean);
  try {
    const input = parseInput(policySchema, { mode: values.mode || undefined, maxFileBytes: bytes, allowedExtensions: extensions });
    checkMaxFileBytes(input.maxFileBytes, uploadMaxBytes);
    return { mode: input.mode, maxFileBytes: input.maxFileBytes ?? null, allowedExtensions: input.allowedExtensions ?? [] };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const pageField = (field: string) => (field === 'maxFileBytes' ? 'maxFileMiB' : field.replace(/\.\d+$/, ''));
    problems.push(...err.problems.map((p) => ({ field: pageField(p.field), message: p.field === 'maxFileBytes' ? `must be at most ${fmtMiB(uploadMaxBytes)} MiB` : p.message })));
    return undefined;
  }
}

export function policyValues(stage: Stage): PolicyValues {
  return { mode: stage.mode, maxFileMiB: stage.maxFileBytes === null ? '' : fmtMiB(stage.maxFileBytes), allowedExtensions: stage.allowedExtensions.join(', ') };
}

/** 26214400 -> "25", 1572864 -> "1.5". */
export function fmtMiB(bytes: number): string {
  return String(Math.round((bytes / MIB) * 100) / 100);
}
