// Handing in work from a request, JSON, a form or multipart with files, for
// the API and the stage page alike. Who may hand in is decided before this
// runs (getStageToSubmitTo); here the body is read, judged and handed to the
// domain. Temporary files never outlive the request: whatever happened, the
// ones not moved into place are removed before the answer.
import type { Request } from 'express';
import type { Knex } from 'knex';
import type { UploadSettings } from '../config.js';
import { createSubmission, refuseEarly, type Submission, type SubmitTarget } from '../domain/submissions.js';
import { effectiveMaxFileBytes } from '../domain/file-policy.js';
import type { NewFile } from '../domain/submission-files.js';
import type { Actor } from '../domain/users.js';
import { BlobStore } from '../uploads/blob-store.js';
import { recordedContentType } from '../uploads/content-type.js';
import { isMultipart, readMultipart } from '../uploads/multipart.js';
import { DEFAULT_UPLOAD_IDLE_MS, endIdleUpload, refuseDeclaredLength, uploadSlots } from '../uploads/upload-guards.js';
import { parseInput } from '../validation.js';
import { readableBody } from './body.js';
import { submissionSchema } from './schemas.js';

export interface HandInDeps {
  db: Knex;
  uploads: UploadSettings;
}

export interface HandInOptions {
  /** A page's form: blank fields count as not given, and its `_csrf` part is judged before any file. */
  form?: { checkToken: (token: string | undefined) => void };
  /** The text fields as sent, for a page to show back on refusal. */
  onFields?: (fields: Record<string, string>) => void;
}

/** A form's text: its two fields, blanks as not given (other parts, such as _csrf, are the page's own). */
const formText = (fields: Record<string, unknown>) =>
  Object.fromEntries((['body', 'link'] as const).flatMap((name) => (typeof fields[name] === 'string' && fields[name].trim() !== '' ? [[name, fields[name]]] : [])));

/** Reads the request's work and hands it in. */
export async function handIn({ db, uploads }: HandInDeps, req: Request, actor: Actor, target: SubmitTarget, options: HandInOptions = {}): Promise<Submission> {
  if (!isMultipart(req)) {
    const body = readableBody(req.body) as Record<string, string> | undefined;
    if (options.form) options.onFields?.(body ?? {});
    const input = parseInput(submissionSchema, options.form ? formText(body ?? {}) : body);
    return createSubmission(db, actor, target, input, { receivedAt: req.receivedAt });
  }
  const maxFileBytes = effectiveMaxFileBytes(target.stage, uploads.maxBytes);
  refuseDeclaredLength(req, maxFileBytes);
  await refuseEarly(db, actor, target, req.receivedAt);
  const release = uploadSlots.take(actor.id);
  const stopWatching = endIdleUpload(req, uploads.idleTimeoutMs ?? DEFAULT_UPLOAD_IDLE_MS);
  try {
    return await handInMultipart({ db, uploads }, req, actor, target, options, maxFileBytes);
  } finally {
    stopWatching();
    release();
  }
}

async function handInMultipart({ db, uploads }: HandInDeps, req: Request, actor: Actor, target: SubmitTarget, options: HandInOptions, maxFileBytes: number): Promise<Submission> {
  const store = new BlobStore(uploads.dir);
  let tokenChecked = false;
  // Called before the first file too: a refused file still shows the text sent before it.
  const checkToken = (fields: Record<string, string>) => {
    options.form?.checkToken(fields._csrf);
    tokenChecked = true;
    options.onFields?.(fields);
  };
  const { fields, files } = await readMultipart(req, store, {
    maxFileBytes,
    allowedExtensions: target.stage.allowedExtensions,
    beforeFirstFile: checkToken,
  });
  const newFiles: NewFile[] = files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256, contentType: recordedContentType(f.claimedType, f.head), tempPath: f.tempPath }));
  try {
    if (!tokenChecked) checkToken(fields);
    const text = options.form ? formText(fields) : fields;
    return await createSubmission(db, actor, target, { ...parseInput(submissionSchema, text), files: newFiles }, { receivedAt: req.receivedAt, store });
  } finally {
    await store.discard(files.map((f) => f.tempPath));
  }
}
