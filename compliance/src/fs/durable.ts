import { randomBytes } from 'node:crypto';
import { open, rename, stat } from 'node:fs/promises';

/**
 * Files that must survive a power cut once written: keys, checkpoints, sealed recordings' folders. One place for
 * write + fsync (+ rename) + fsync of the directory.
 */

export interface DurableWriteOptions {
  /** file mode of a new file */
  mode: number;
  /**
   * 'exclusive': create the file, refusing one that exists (O_EXCL); 'replace': write a temporary file beside it and
   * rename it over the old one, so that readers see the old or the new content, never a mix
   */
  how: 'exclusive' | 'replace';
}

export async function writeFileDurably(path: string, data: string | Buffer, o: DurableWriteOptions): Promise<void> {
  const target = o.how === 'exclusive' ? path : `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(target, o.how === 'exclusive' ? 'wx' : 'w', o.mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (target !== path) await rename(target, path);
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
