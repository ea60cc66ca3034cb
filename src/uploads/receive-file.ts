// One file of a multipart body, from busboy's stream to a flushed temporary
// file, hashed on the way; never more than a chunk of it in memory.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { SNIFF_BYTES } from './content-type.js';

export interface ReceivedFile {
  /** The name as stored (storedFileName), not as sent. */
  name: string;
  claimedType: string;
  tempPath: string;
  size: number;
  sha256: string;
  /** The first bytes, for recordedContentType. */
  head: Buffer;
  /** busboy cut it off at the size limit. */
  truncated: boolean;
}

/**
 * Writes `stream` to `tempPath` (created new, owner-only), then fsyncs it.
 * The file is left behind on failure: the caller discards every temporary
 * path it handed out, whatever happened.
 */
export async function receiveFile(stream: Readable & { truncated?: boolean }, tempPath: string, name: string, claimedType: string): Promise<ReceivedFile> {
  const hash = createHash('sha256');
  const handle = await fs.promises.open(tempPath, 'wx', 0o600);
  let size = 0;
  let head = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
      size += chunk.length;
      await handle.write(chunk);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { name, claimedType, tempPath, size, sha256: hash.digest('hex'), head, truncated: stream.truncated === true };
}
