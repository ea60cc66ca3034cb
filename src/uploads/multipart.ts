// A multipart/form-data hand-in, read with busboy: text fields into memory
// (bounded), each file part streamed to a temporary file (receive-file.ts).
// Everything is judged while it streams: a refused name or extension, an
// 11th file, a file past its limit, a body cut off. On any refusal every
// temporary file is removed before the error is thrown; on success the
// caller owns the temporary files (it places or discards them).
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError, PayloadTooLargeError, ValidationError } from '../errors.js';
import { checkExtension, MAX_FILES_PER_SUBMISSION, storedFileName, tooManyFiles } from '../domain/file-policy.js';
import type { BlobStore } from './blob-store.js';
import { receiveFile, type ReceivedFile } from './receive-file.js';

export const FILES_FIELD = 'files';
/** Text fields: the body may be 100,000 characters (300 kB of UTF-8). */
const FIELD_BYTES = 1024 * 1024;
// body, link and a form's _csrf, with room to spare; each may hold FIELD_BYTES in memory.
const MAX_FIELDS = 8;

export interface MultipartLimits {
  maxFileBytes: number;
  allowedExtensions: readonly string[];
  /** Called once, before the first file part is taken: it may throw (a form's CSRF token, which comes first). */
  beforeFirstFile?: (fields: Record<string, string>) => void;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: ReceivedFile[];
}

export function isMultipart(req: IncomingMessage): boolean {
  return /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');
}

/** Nobody reads the answer; a 400 all the same, so it is not logged as our failure. */
class ClientGone extends AppError {
  constructor() {
    super(400, 'client_gone', 'the client went away before the body ended');
  }
}

function parserFor(req: IncomingMessage, maxFileBytes: number): busboy.Busboy {
  try {
    return busboy({
      headers: req.headers,
      // Names are judged whole (storedFileName) and in UTF-8, as browsers send them; busboy would cut paths and read latin1.
      preservePath: true,
      defParamCharset: 'utf8',
      // busboy calls a file that reaches its limit truncated: one byte more tells "exactly the limit" from "over it".
      limits: { files: MAX_FILES_PER_SUBMISSION, fileSize: maxFileBytes + 1, fields: MAX_FIELDS, fieldSize: FIELD_BYTES, parts: MAX_FIELDS + MAX_FILES_PER_SUBMISSION + 1 },
    });
  } catch (err) {
    throw ValidationError.field('body', `is not a multipart form: ${(err as Error).message}`);
  }
}

/** Reads the whole body; see the file comment. */
export async function readMultipart(req: IncomingMessage, store: BlobStore, limits: MultipartLimits): Promise<MultipartBody> {
  const temps: string[] = [];
  const pending: Promise<ReceivedFile>[] = [];
  const streams: Readable[] = [];
  const fields: Record<string, string> = {};
  let failure: Error | undefined;
  const fail = (err: unknown) => (failure ??= err instanceof Error ? err : new Error(String(err)));
  const parser = parserFor(req, limits.maxFileBytes);
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) fail(ValidationError.field(name, 'is too long'));
    fields[name] = value;
  });
  parser.on('file', (field, stream, info) => {
    // A file input left empty sends a part with an empty name and no bytes; busboy gives no name then.
    if (field === FILES_FIELD && !info.filename) return void skipUnnamed(stream, fail);
    try {
      if (pending.length === 0) limits.beforeFirstFile?.(fields);
      if (field !== FILES_FIELD) throw ValidationError.field(field, `is not a known field (files go in "${FILES_FIELD}")`);
      const name = storedFileName(info.filename ?? '');
      checkExtension(name, limits.allowedExtensions);
      if (failure) throw failure;
      streams.push(stream);
      pending.push(
        store.tempPath().then((tempPath) => {
          temps.push(tempPath);
          return receiveFile(stream, tempPath, name, info.mimeType);
        }),
      );
    } catch (err) {
      fail(err);
      stream.resume();
    }
  });
  parser.on('filesLimit', () => fail(tooManyFiles()));
  parser.on('partsLimit', () => fail(ValidationError.field('body', 'has too many parts')));
  parser.on('fieldsLimit', () => fail(ValidationError.field('body', `has more than ${MAX_FIELDS} fields`)));
  try {
    await new Promise<void>((resolve, reject) => {
      parser.once('close', resolve);
      parser.once('error', reject);
      req.once('aborted', () => reject(new ClientGone()));
      req.once('close', () => (req.complete ? undefined : reject(new ClientGone())));
      req.pipe(parser);
    });
    const files = await Promise.all(pending);
    if (failure) throw failure;
    refuseBadFiles(files, limits.maxFileBytes);
    return { fields, files };
  } catch (err) {
    req.unpipe(parser);
    // A file cut off mid-way gets no more bytes and no end: end its write here.
    for (const stream of streams) stream.destroy();
    // Every write must have ended (closed its handle) before its file is removed.
    await Promise.allSettled(pending);
    await store.discard(temps);
    throw failure ?? (err instanceof AppError ? err : ValidationError.field(FILES_FIELD, `the form could not be read: ${(err as Error).message}`));
  }
}

function refuseBadFiles(files: ReceivedFile[], maxFileBytes: number): void {
  const cut = files.find((f) => f.truncated || f.size > maxFileBytes);
  if (cut) throw new PayloadTooLargeError(FILES_FIELD, `"${cut.name}" is larger than this stage takes (${maxFileBytes} bytes)`);
  const empty = files.find((f) => f.size === 0);
  if (empty) throw ValidationError.field(FILES_FIELD, `"${empty.name}" is empty`);
}

/** Drains a part without a file name: nothing if it is empty (no file chosen), else a 400. */
function skipUnnamed(stream: Readable, fail: (err: unknown) => void): void {
  stream.on('data', (chunk: Buffer) => {
    if (chunk.length > 0) fail(ValidationError.field(FILES_FIELD, 'a file was sent without a file name'));
  });
}
