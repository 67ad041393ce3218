import { join } from 'node:path';
import { FileKeyring, KeyringSet, LiveKeyring, Pkcs11Keyring, SealedMediaError, isSealedMediaError } from '@kyc/compliance';
import type { AppConfig } from '../config/load.js';
import { readSecretText } from '../lib/secret-files.js';

/**
 * The one place a process builds its keyring from the configuration (appliance, worker, kyc-archive).
 *
 * KEK directory (`kek-…` kids) and, when configured, the PKCS#11 token (`hsm-…` kids) are both open for
 * unwrapping; new data keys are wrapped by KYC_KEK_PROVIDER. With the token, the current key label is
 * KYC_PKCS11_KEY_LABEL until `kyc-archive rotate-kek` writes a newer one into KYC_KEK_DIR/hsm-current; the keyring
 * re-reads that file before each wrap, so running processes follow a rotation as they do for file KEKs.
 */

/** In the KEK directory: the label of the token's current KEK after a rotation inside the HSM. */
export const HSM_CURRENT_FILE = 'hsm-current';

export interface OpenKeyringOptions {
  /** the worker: create the first file KEK when the directory holds none (provider file only) */
  createFirstKek?: boolean;
  /**
   * also read the directory's current file KEK now (kyc-archive). Not by default: the appliance without an
   * in-process worker may start before the worker made the first file KEK. The token's current key is always
   * checked at open with the pkcs11 provider: a missing key or a wrong PIN stops the process at start-up.
   */
  requireFileKek?: boolean;
  /** kyc-archive rotate-kek: open the token even when its current key does not exist yet (to generate it) */
  allowMissingTokenKek?: boolean;
}

/** Creates the first file KEK when the provider is `file` and the directory holds none; returns its kid. */
export async function ensureFirstKek(config: AppConfig): Promise<string | null> {
  const rec = config.recording;
  if (rec.kekProvider !== 'file') return null;
  return (await FileKeyring.openOrCreate(rec.kekDir, { groupReadable: rec.groupAccess })).created;
}

export async function openKeyring(config: AppConfig, opts: OpenKeyringOptions = {}): Promise<{ keyring: KeyringSet; createdKek: string | null }> {
  const rec = config.recording;
  const createdKek = opts.createFirstKek ? await ensureFirstKek(config) : null;
  const file = new LiveKeyring(rec.kekDir, { groupReadable: rec.groupAccess });
  const hsm = rec.pkcs11
    ? await Pkcs11Keyring.open({
        module: rec.pkcs11.module,
        tokenLabel: rec.pkcs11.tokenLabel,
        pin: readSecretText(rec.pkcs11.pinFile, { groupReadable: rec.groupAccess }),
        currentLabel: rec.pkcs11.keyLabel,
        currentLabelFile: join(rec.kekDir, HSM_CURRENT_FILE),
        requireCurrent: false,
      })
    : null;
  const keyring = new KeyringSet(rec.kekProvider, file, hsm);
  if ((rec.kekProvider === 'pkcs11' && !opts.allowMissingTokenKek) || opts.requireFileKek) {
    try {
      await keyring.refresh();
    } catch (err) {
      await keyring.close();
      if (rec.kekProvider === 'pkcs11' && isSealedMediaError(err) && / is not on token /.test(err.message)) {
        throw new SealedMediaError(err.code, `${err.message}: generate it in the token with \`kyc-archive rotate-kek\``, { cause: err });
      }
      throw err;
    }
  }
  return { keyring, createdKek };
}
