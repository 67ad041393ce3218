import { SealedMediaError } from './errors.js';
import type { KeyWrapper, LiveKeyring, WrappedKey } from './keys.js';
import { isHsmKid, type Pkcs11Keyring } from './pkcs11-keyring.js';

export type KekProvider = 'file' | 'pkcs11';

/**
 * The keyring of a process when KEKs may live in two places: the KEK directory (`kek-…` kids) and a PKCS#11 token
 * (`hsm-…` kids). New data keys are wrapped by the configured provider; a wrapped key is unwrapped by whichever
 * holds its kid, so during a migration (and after one, until `kyc-archive rewrap` has moved everything) both
 * kinds replay.
 */
export class KeyringSet implements KeyWrapper {
  constructor(
    readonly provider: KekProvider,
    private readonly file: LiveKeyring,
    private readonly hsm: Pkcs11Keyring | null,
  ) {
    if (provider === 'pkcs11' && !hsm) throw new SealedMediaError('KYC_ERR_SEALED_KEY', 'the pkcs11 KEK provider needs a PKCS#11 token');
  }

  private wrapper(): KeyWrapper {
    return this.provider === 'pkcs11' ? this.hsm! : this.file;
  }

  /** The token's keyring, when one is configured. */
  token(): Pkcs11Keyring | null {
    return this.hsm;
  }

  /** Reads which KEK is current now (directory `current`, or the token's current label) and checks it exists. */
  async refresh(): Promise<string> {
    if (this.provider === 'pkcs11') return this.hsm!.refresh().then(() => this.hsm!.currentKeyId());
    return (await this.file.current()).currentKeyId();
  }

  currentKeyId(): string {
    return this.wrapper().currentKeyId();
  }

  wrap(dataKey: Buffer, context: string): Promise<WrappedKey> {
    return this.wrapper().wrap(dataKey, context);
  }

  unwrap(key: WrappedKey, context: string): Promise<Buffer> {
    if (!isHsmKid(key.kid)) return this.file.unwrap(key, context);
    if (!this.hsm) return Promise.reject(new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK ${key.kid} is held by an HSM but no PKCS#11 token is configured`));
    return this.hsm.unwrap(key, context);
  }

  async close(): Promise<void> {
    await this.hsm?.close();
  }
}
