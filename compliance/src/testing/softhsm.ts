import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Debian's SoftHSM2 module (package softhsm2, installed by appliance/scripts/install-system.sh). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  module: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  /** the SOFTHSM2_CONF of the token store (set in this process's environment) */
  conf: string;
}

let store: { dir: string; conf: string } | null = null;

/**
 * A fresh, initialized SoftHSM2 token in a temporary token store of this process. SoftHSM reads SOFTHSM2_CONF
 * itself when the module is initialized, so the store is one per process: the first call sets the variable, later
 * calls add tokens to the same store. Fails (does not skip) when softhsm2 is missing.
 */
export function createSoftHsmToken(label = `t-${randomBytes(4).toString('hex')}`): SoftHsmToken {
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`softhsm2 is not installed (${SOFTHSM_MODULE} missing): run make system, which installs it`);
  if (!store) {
    const dir = mkdtempSync(join(tmpdir(), 'kyc-softhsm-'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(join(dir, '.keep'), '');
    writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    store = { dir, conf };
    process.env.SOFTHSM2_CONF = conf;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const pin = randomBytes(6).toString('hex');
  const soPin = randomBytes(6).toString('hex');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], {
    env: { ...process.env, SOFTHSM2_CONF: store.conf },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { module: SOFTHSM_MODULE, tokenLabel: label, pin, soPin, conf: store.conf };
}
