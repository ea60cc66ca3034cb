// What an attacker's upload may not do to a worker: declare a body far past
// what any hand-in could be (refused before a byte is read), hold one of its
// slots open by sending a byte now and then (an idle timeout ends it), or
// open a hundred at once (a few per user on a worker; 429 beyond).
import type { IncomingMessage } from 'node:http';
import { AppError, PayloadTooLargeError } from '../errors.js';
import { MAX_FILES_PER_SUBMISSION } from '../domain/file-policy.js';
import { SECOND } from '../time.js';

/** Uploads one user may have under way at once on one worker. */
export const UPLOADS_PER_USER = 4;
/** A body silent for this long is ended (UPLOAD_IDLE_TIMEOUT_MS). */
export const DEFAULT_UPLOAD_IDLE_MS = 30 * SECOND;
/** Room for the text fields and the multipart framing beside the files. */
const NON_FILE_BYTES = 4 * 1024 * 1024;

/** A declared Content-Length that no allowed hand-in reaches: a 413 before the body is read, so nothing is written. */
export function refuseDeclaredLength(req: IncomingMessage, maxFileBytes: number): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_FILES_PER_SUBMISSION * maxFileBytes + NON_FILE_BYTES) {
    throw new PayloadTooLargeError('files', `the body declares ${declared} bytes, more than ${MAX_FILES_PER_SUBMISSION} files of at most ${maxFileBytes} bytes can be`);
  }
}

class TooManyUploads extends AppError {
  constructor() {
    super(429, 'too_many_requests', `At most ${UPLOADS_PER_USER} uploads per user are under way at once; wait for one to finish`);
  }
}

/** Counts each user's uploads under way on this worker. */
export class UploadSlots {
  private readonly perUser = new Map<number, number>();

  /** Takes a slot or throws a 429; the function returned gives it back (call it once). */
  take(userId: number): () => void {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= UPLOADS_PER_USER) throw new TooManyUploads();
    this.perUser.set(userId, mine + 1);
    return () => {
      const left = (this.perUser.get(userId) ?? 1) - 1;
      if (left <= 0) this.perUser.delete(userId);
      else this.perUser.set(userId, left);
    };
  }
}

export const uploadSlots = new UploadSlots();

/**
 * Ends the request when its socket is silent for `idleMs` (the socket's own
 * timer: watching 'data' here would take the bytes from the multipart
 * reader). The reader then sees the body cut off and removes what it wrote.
 * Returns the function that stops watching.
 */
export function endIdleUpload(req: IncomingMessage, idleMs: number): () => void {
  const onIdle = () => req.destroy(new Error('upload idle timeout'));
  req.socket.setTimeout(idleMs, onIdle);
  return () => {
    req.socket.setTimeout(0);
    req.socket.off('timeout', onIdle);
  };
}
