// Downloads of handed-in files: always an attachment under the author's name
// for it, never rendered by the browser (nosniff, a sandboxing CSP), streamed
// from disk with its length, one byte range when asked.
import fs from 'node:fs';
import { Router, type Response } from 'express';
import type { Knex } from 'knex';
import type { UploadSettings } from '../../config.js';
import { getFileForDownload } from '../../domain/submission-files.js';
import { actorOf } from '../auth.js';
import { parseId } from '../../validation.js';
import { BlobStore } from '../../uploads/blob-store.js';
import { servedContentType } from '../../uploads/content-type.js';
import { contentDisposition, parseRange } from '../download-headers.js';

export function fileRoutes({ db, uploads }: { db: Knex; uploads: UploadSettings }): Router {
  const router = Router();
  const store = new BlobStore(uploads.dir);

  router.get('/files/:id', async (req, res) => {
    const file = await getFileForDownload(db, actorOf(req), parseId(req.params.id));
    const where = store.pathOf(file.storageKey);
    if (!where) throw new Error(`file ${file.id} has a storage key that is not a content hash`);
    res.set({
      'content-type': servedContentType(file.contentType),
      'content-disposition': contentDisposition(file.name),
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
      'accept-ranges': 'bytes',
    });
    const range = parseRange(req.headers.range, file.size);
    if (range === 'unsatisfiable') {
      res.status(416).set('content-range', `bytes */${file.size}`).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: file.size - 1 };
    if (range) res.status(206).set('content-range', `bytes ${start}-${end}/${file.size}`);
    res.set('content-length', String(end - start + 1));
    if (req.method === 'HEAD') return void res.end();
    await send(res, fs.createReadStream(where, { start, end }));
  });

  return router;
}

/** Streams the bytes; a file missing on disk before anything was sent is a 500 (a row never names a missing file by design). */
function send(res: Response, stream: fs.ReadStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', (err) => {
      if (!res.headersSent) return reject(err);
      res.destroy(err);
      resolve();
    });
    stream.once('open', () => stream.pipe(res));
    res.once('close', () => {
      stream.destroy();
      resolve();
    });
  });
}
