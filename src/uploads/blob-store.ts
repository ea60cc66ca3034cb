// Files handed in, by content: `<UPLOAD_DIR>/<sha[0:2]>/<sha>`, so the same
// bytes handed in twice are one file on disk. Bytes arrive under a temporary
// name in `<UPLOAD_DIR>/tmp/` (the same file system, so the move into place
// is one atomic rename) and are flushed before that move; the directory is
// flushed after it, so a row that commits afterwards never names a file a
// power cut could take back. Several hosts may share UPLOAD_DIR (a mounted
// volume): names are random or content hashes, never a counter one host keeps.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

export const TEMP_DIR = 'tmp';
export const TEMP_SUFFIX = '.part';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class BlobStore {
  constructor(readonly dir: string) {}

  /** A fresh temporary path; its folder exists. */
  async tempPath(): Promise<string> {
    const folder = path.join(this.dir, TEMP_DIR);
    await fs.promises.mkdir(folder, { recursive: true });
    return path.join(folder, `${randomUUID()}${TEMP_SUFFIX}`);
  }

  /** `ab/abcdef...`: where a blob with this hash lives, relative to the folder. */
  static keyFor(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return `${sha256.slice(0, 2)}/${sha256}`;
  }

  /** The absolute path of a stored key; a key that is not one of ours resolves to nothing. */
  pathOf(key: string): string | undefined {
    const [shard, name, ...rest] = key.split('/');
    if (rest.length > 0 || !SHA256_HEX.test(name ?? '') || shard !== name.slice(0, 2)) return undefined;
    return path.join(this.dir, shard, name);
  }

  /**
   * Moves a flushed temporary file into its place and returns its key,
   * synchronously: SQLite callers do this inside their one synchronous
   * transaction (see createSubmission). A blob already there is replaced by
   * these same bytes, which also renews its mtime: the orphan sweep spares
   * what was placed within its grace period.
   */
  placeSync(tempPath: string, sha256: string): string {
    const key = BlobStore.keyFor(sha256);
    const target = this.pathOf(key)!;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(tempPath, target);
    syncDirSync(path.dirname(target));
    return key;
  }

  /** Removes temporary files; missing ones are fine (never moved, or moved already). */
  async discard(tempPaths: readonly string[]): Promise<void> {
    await Promise.all(tempPaths.map((file) => fs.promises.rm(file, { force: true })));
  }
}

function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
