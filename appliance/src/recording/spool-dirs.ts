import { chmod, mkdir, stat } from 'node:fs/promises';

/**
 * The recording spool's folders. One OS user (make dev, tests): 0700 folders. Separate users (systemd units,
 * KYC_DIR_GROUP_ACCESS): the installer makes the spool setgid with the group Janus and the worker share
 * (kyc-spool); each session folder inherits that group and the setgid bit and is created group-writable (the
 * appliance runs with umask 0007), so Janus can write into it and the worker read and delete it. The appliance is
 * not in that group: it can create the folder but not read what Janus records.
 */
export async function createSessionSpoolDir(path: string, groupAccess: boolean): Promise<void> {
  if (!groupAccess) {
    await mkdir(path, { recursive: true, mode: 0o700 });
    return;
  }
  await mkdir(path, { recursive: true, mode: 0o2770 });
  const mode = (await stat(path)).mode;
  // chmod cannot add the setgid bit for a group the appliance is not in: it has to come from the spool folder.
  if ((mode & 0o2070) !== 0o2070) {
    throw new Error(
      `recording folder ${path} is not setgid and group-writable (mode ${(mode & 0o7777).toString(8)}): the spool folder must be setgid (chmod 2770) with the group Janus and the worker share, and the appliance's umask 0007`,
    );
  }
}

/** Makes sure a data folder exists; with one OS user it is (made) 0700, with group access its modes are the installer's. Returns its device. */
export async function ensureDataDir(path: string, groupAccess: boolean): Promise<number> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  if (!groupAccess) await chmod(path, 0o700);
  return (await stat(path)).dev;
}
