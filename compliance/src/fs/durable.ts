import { randomBytes } from 'node:crypto';
import { link, open, rename, stat, unlink } from 'node:fs/promises';

/**
 * Files that must survive a power cut once written: keys, checkpoints, sealed recordings' folders. One place for
 * write + fsync (+ rename) + fsync of the directory.
 */

export interface DurableWriteOptions {
  /** file mode of a new file */
  mode: number;
  /**
   * 'exclusive': create the file, refusing one that exists; 'replace': rename it over the old one, so that readers see
   * the old or the new content, never a mix. Either way the content is written to a temporary file beside it first:
   * a process killed mid-write leaves that temporary file, never a torn file under the name.
   */
  how: 'exclusive' | 'replace';
}

export async function writeFileDurably(path: string, data: string | Buffer, o: DurableWriteOptions): Promise<void> {
  const partial = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(partial, 'wx', o.mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(partial).catch(() => undefined);
    throw err;
  }
  await fh.close();
  if (o.how === 'replace') return rename(partial, path);
  // link() publishes the complete file under its name and fails (EEXIST) when the name is taken, as O_EXCL would
  try {
    await link(partial, path);
  } finally {
    await unlink(partial);
  }
}

/** Makes a directory's entries (new, renamed or removed files) durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // a filesystem that cannot fsync directories (EINVAL): the files themselves are synced
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await fh.close();
  }
}

/** True when `path` exists (false only for ENOENT; other errors are thrown). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
