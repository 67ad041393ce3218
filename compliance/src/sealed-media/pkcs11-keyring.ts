import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import type * as Pkcs11js from 'pkcs11js';
import { DATA_KEY_SIZE } from './streaming-aead.js';
import { SealedMediaError } from './errors.js';
import { wrapAad, type KeyWrapper, type WrappedKey } from './keys.js';

/**
 * Key-encryption keys held in an HSM through PKCS#11 (SoftHSM2 in the tests).
 *
 * Each KEK is an AES-256 secret-key object on the token (CKA_TOKEN, CKA_SENSITIVE, CKA_EXTRACTABLE false), found
 * by its CKA_LABEL. A data key is encrypted and decrypted INSIDE the token with CKM_AES_GCM (C_Encrypt/C_Decrypt),
 * the associated data binding the kid and the recording or export it belongs to, exactly as for file KEKs; the KEK
 * itself never leaves the device. The kid of a token KEK is `hsm-<label>`, so a stored kid says which provider
 * holds its KEK (file KEKs are `kek-YYYYMMDD-xxxxxxxx`).
 *
 * Binding: `pkcs11js` (PeculiarVentures, N-API, built by node-gyp at `npm ci`). `graphene-pk11` is an
 * object layer over the same binding; OpenSSL's pkcs11 provider only reaches asymmetric keys and digests from
 * Node's crypto, not symmetric encryption with a token-resident AES key.
 *
 * One session per process, opened and logged in once and reused. A PKCS#11 session holds one active operation
 * (EncryptInit…Encrypt), so operations on it are serialized by a promise chain; the Encrypt/Decrypt calls run on
 * libuv's thread pool and never block the event loop.
 *
 * Wrapped form (61 bytes, the size of a file-KEK wrap): version 2 ‖ IV (12) ‖ encrypted data key (32) ‖ tag (16).
 * The IV is random per wrap, drawn here (SoftHSM takes the caller's IV; an HSM in FIPS mode that insists on making
 * its own would need the IV read back from the mechanism parameters instead).
 */

export const HSM_KID_PREFIX = 'hsm-';
const WRAP_VERSION = 2;
const IV = 12;
const TAG = 16;
const WRAPPED_SIZE = 1 + IV + DATA_KEY_SIZE + TAG;
/** token key labels this appliance uses: also part of the kid, so kept to a plain alphabet */
export const HSM_KEY_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function hsmKid(label: string): string {
  return `${HSM_KID_PREFIX}${label}`;
}

export function isHsmKid(kid: string): boolean {
  return kid.startsWith(HSM_KID_PREFIX);
}

export interface Pkcs11Options {
  /** path of the PKCS#11 module (.so), e.g. /usr/lib/softhsm/libsofthsm2.so */
  module: string;
  tokenLabel: string;
  /** the user PIN (the caller reads it from its protected file) */
  pin: string;
  /** the label of the KEK new data keys are wrapped with */
  currentLabel: string;
  /** read before each wrap: a file naming the current label (written by rotation); absent → `currentLabel` */
  currentLabelFile?: string;
  /** false: open even when the current key is not on the token yet (to generate it: `kyc-archive rotate-kek`) */
  requireCurrent?: boolean;
}

type Pkcs11Module = typeof Pkcs11js;

/** One loaded and initialized module per path and process (C_Initialize may run once), counted by its users. */
const modules = new Map<string, { lib: Pkcs11js.PKCS11; users: number }>();

function loadBinding(): Pkcs11Module {
  const require = createRequire(import.meta.url);
  try {
    return require('pkcs11js') as Pkcs11Module;
  } catch (err) {
    throw new SealedMediaError('KYC_ERR_SEALED_KEY', 'the PKCS#11 binding (pkcs11js) is not built: run npm ci with build tools (python3, make, g++)', { cause: err });
  }
}

function pkcs11Code(err: unknown): string {
  return err instanceof Error ? (err.message.split(/[\s:]/)[0] ?? 'error') : 'error';
}

export class Pkcs11Keyring implements KeyWrapper {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly handles = new Map<string, Pkcs11js.Handle>();
  private current: string;
  private closed = false;

  private constructor(
    private readonly pk: Pkcs11Module,
    private readonly lib: Pkcs11js.PKCS11,
    private readonly modulePath: string,
    private readonly session: Pkcs11js.Handle,
    readonly tokenLabel: string,
    private readonly defaultLabel: string,
    private readonly currentLabelFile: string | undefined,
  ) {
    this.current = defaultLabel;
  }

  /** Loads the module, finds the token by label, opens the process's session and logs in. */
  static async open(o: Pkcs11Options): Promise<Pkcs11Keyring> {
    if (!HSM_KEY_LABEL.test(o.currentLabel))
      throw new SealedMediaError('KYC_ERR_SEALED_KEY', `PKCS#11 key label ${JSON.stringify(o.currentLabel)} is not a plain label (letters, digits, . _ -)`);
    const pk = loadBinding();
    let entry = modules.get(o.module);
    if (!entry) {
      const lib = new pk.PKCS11();
      try {
        lib.load(o.module);
        lib.C_Initialize();
      } catch (err) {
        throw new SealedMediaError('KYC_ERR_SEALED_KEY', `cannot load the PKCS#11 module ${o.module} (${pkcs11Code(err)})`, { cause: err });
      }
      entry = { lib, users: 0 };
      modules.set(o.module, entry);
    }
    entry.users += 1;
    const lib = entry.lib;
    let session: Pkcs11js.Handle | null = null;
    try {
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === o.tokenLabel);
      if (!slot) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `no PKCS#11 token labelled ${JSON.stringify(o.tokenLabel)} in ${o.module}`);
      session = lib.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | pk.CKF_RW_SESSION);
      try {
        lib.C_Login(session, pk.CKU_USER, o.pin);
      } catch (err) {
        const code = pkcs11Code(err);
        // login state belongs to the application: another keyring of this process may have logged in already
        if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
          const why = code === 'CKR_PIN_INCORRECT' ? 'wrong PIN' : code === 'CKR_PIN_LOCKED' ? 'the PIN is locked' : code;
          throw new SealedMediaError('KYC_ERR_SEALED_KEY', `PKCS#11 login to token ${JSON.stringify(o.tokenLabel)} refused: ${why} (${code})`, { cause: err });
        }
      }
      const keyring = new Pkcs11Keyring(pk, lib, o.module, session, o.tokenLabel, o.currentLabel, o.currentLabelFile);
      if (o.requireCurrent !== false) await keyring.refresh();
      return keyring;
    } catch (err) {
      if (session !== null) lib.C_CloseSession(session);
      Pkcs11Keyring.release(o.module);
      throw err;
    }
  }

  private static release(modulePath: string): void {
    const entry = modules.get(modulePath);
    if (!entry) return;
    entry.users -= 1;
    if (entry.users > 0) return;
    modules.delete(modulePath);
    try {
      entry.lib.C_Finalize();
    } finally {
      entry.lib.close();
    }
  }

  /** Runs `fn` alone on the session (one PKCS#11 operation at a time). */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(() => {
      if (this.closed) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `the PKCS#11 session to token ${this.tokenLabel} is closed`);
      return fn();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private findKey(label: string): Pkcs11js.Handle | null {
    const cached = this.handles.get(label);
    if (cached) return cached;
    const pk = this.pk;
    this.lib.C_FindObjectsInit(this.session, [
      { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
      { type: pk.CKA_KEY_TYPE, value: pk.CKK_AES },
      { type: pk.CKA_LABEL, value: label },
    ]);
    let found: Pkcs11js.Handle[];
    try {
      found = this.lib.C_FindObjects(this.session, 2);
    } finally {
      this.lib.C_FindObjectsFinal(this.session);
    }
    if (found.length > 1) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `token ${this.tokenLabel} holds more than one AES key labelled ${label}`);
    if (found.length === 0) return null;
    this.handles.set(label, found[0]!);
    return found[0]!;
  }

  private requireKey(label: string): Pkcs11js.Handle {
    const h = this.findKey(label);
    if (!h) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK ${hsmKid(label)} is not on token ${this.tokenLabel} (destroyed, or another installation's)`);
    return h;
  }

  /** Whether the token holds an AES key with this label. */
  hasKey(label: string): Promise<boolean> {
    return this.exclusive(() => this.findKey(label) !== null);
  }

  /** Re-reads which label is current (the label file, else the configured label) and checks the token holds it. */
  async refresh(): Promise<string> {
    let label = this.defaultLabel;
    if (this.currentLabelFile) {
      try {
        label = (await readFile(this.currentLabelFile, 'utf8')).trim();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (!HSM_KEY_LABEL.test(label)) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `${this.currentLabelFile} does not name a key label`);
    }
    await this.exclusive(() => this.requireKey(label));
    this.current = label;
    return label;
  }

  /** The label the next wrap uses, as last read. */
  currentLabel(): string {
    return this.current;
  }

  currentKeyId(): string {
    return hsmKid(this.current);
  }

  /**
   * Generates a new AES-256 KEK on the token: never extractable, sensitive, a token object usable only to
   * encrypt and decrypt (which is all wrapping here needs). Refuses a label already in use.
   */
  generateKey(label: string): Promise<void> {
    if (!HSM_KEY_LABEL.test(label)) return Promise.reject(new SealedMediaError('KYC_ERR_SEALED_KEY', `PKCS#11 key label ${JSON.stringify(label)} is not a plain label`));
    return this.exclusive(() => {
      if (this.findKey(label) !== null) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `token ${this.tokenLabel} already holds a key labelled ${label}`);
      const pk = this.pk;
      const h = this.lib.C_GenerateKey(this.session, { mechanism: pk.CKM_AES_KEY_GEN, parameter: undefined }, [
        { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
        { type: pk.CKA_KEY_TYPE, value: pk.CKK_AES },
        { type: pk.CKA_VALUE_LEN, value: 32 },
        { type: pk.CKA_LABEL, value: label },
        { type: pk.CKA_ID, value: Buffer.from(label, 'utf8') },
        { type: pk.CKA_TOKEN, value: true },
        { type: pk.CKA_PRIVATE, value: true },
        { type: pk.CKA_SENSITIVE, value: true },
        { type: pk.CKA_EXTRACTABLE, value: false },
        { type: pk.CKA_ENCRYPT, value: true },
        { type: pk.CKA_DECRYPT, value: true },
        { type: pk.CKA_WRAP, value: false },
        { type: pk.CKA_UNWRAP, value: false },
        { type: pk.CKA_SIGN, value: false },
        { type: pk.CKA_VERIFY, value: false },
        { type: pk.CKA_DERIVE, value: false },
      ]);
      this.handles.set(label, h);
    });
  }

  /** The token's attributes of a key, for checks (value-free: CKA_VALUE of these keys cannot be read). */
  keyAttributes(label: string): Promise<{ extractable: boolean; sensitive: boolean; token: boolean; valueReadable: boolean }> {
    return this.exclusive(() => {
      const pk = this.pk;
      const h = this.requireKey(label);
      const [e, s, tk] = this.lib.C_GetAttributeValue(this.session, h, [{ type: pk.CKA_EXTRACTABLE }, { type: pk.CKA_SENSITIVE }, { type: pk.CKA_TOKEN }]);
      let valueReadable = true;
      try {
        this.lib.C_GetAttributeValue(this.session, h, [{ type: pk.CKA_VALUE }]);
      } catch {
        valueReadable = false;
      }
      const on = (a: Pkcs11js.Attribute | undefined) => Buffer.isBuffer(a?.value) && a.value[0] === 1;
      return { extractable: on(e), sensitive: on(s), token: on(tk), valueReadable };
    });
  }

  private mechanism(iv: Buffer, aad: Buffer): Pkcs11js.Mechanism {
    const pk = this.pk;
    const parameter: Pkcs11js.AesGCM = { type: pk.CK_PARAMS_AES_GCM, iv, aad, ivBits: IV * 8, tagBits: TAG * 8 };
    return { mechanism: pk.CKM_AES_GCM, parameter };
  }

  async wrap(dataKey: Buffer, context: string): Promise<WrappedKey> {
    if (dataKey.length !== DATA_KEY_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_KEY', 'a data key is 32 bytes');
    const label = await this.refresh();
    const kid = hsmKid(label);
    const iv = randomBytes(IV);
    const body = await this.exclusive(async () => {
      const h = this.requireKey(label);
      try {
        this.lib.C_EncryptInit(this.session, this.mechanism(iv, wrapAad(kid, context)), h);
        return await this.lib.C_EncryptAsync(this.session, dataKey, Buffer.alloc(DATA_KEY_SIZE + TAG));
      } catch (err) {
        this.handles.delete(label); // a key destroyed on the token: look it up again next time
        throw new SealedMediaError('KYC_ERR_SEALED_KEY', `token ${this.tokenLabel} could not wrap with KEK ${kid} (${pkcs11Code(err)})`, { cause: err });
      }
    });
    if (body.length !== DATA_KEY_SIZE + TAG) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `token ${this.tokenLabel} returned ${body.length} bytes for an AES-GCM wrap`);
    return { kid, wrapped: Buffer.concat([Buffer.from([WRAP_VERSION]), iv, body]) };
  }

  async unwrap(key: WrappedKey, context: string): Promise<Buffer> {
    if (!isHsmKid(key.kid)) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK ${key.kid} is not an HSM key`);
    if (key.wrapped.length !== WRAPPED_SIZE || key.wrapped[0] !== WRAP_VERSION) {
      throw new SealedMediaError('KYC_ERR_SEALED_KEY', 'wrapped data key has an unknown format');
    }
    const label = key.kid.slice(HSM_KID_PREFIX.length);
    const iv = key.wrapped.subarray(1, 1 + IV);
    return this.exclusive(async () => {
      const h = this.requireKey(label);
      try {
        this.lib.C_DecryptInit(this.session, this.mechanism(Buffer.from(iv), wrapAad(key.kid, context)), h);
        return await this.lib.C_DecryptAsync(this.session, key.wrapped.subarray(1 + IV), Buffer.alloc(DATA_KEY_SIZE + TAG));
      } catch (err) {
        if (pkcs11Code(err) === 'CKR_KEY_HANDLE_INVALID') this.handles.delete(label);
        throw new SealedMediaError('KYC_ERR_SEALED_KEY', `data key does not unwrap with KEK ${key.kid} (wrong KEK, or wrapped for another recording; ${pkcs11Code(err)})`, { cause: err });
      }
    });
  }

  /** Closes the session (after operations in flight); the module is finalized when its last keyring closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    try {
      this.lib.C_CloseSession(this.session);
    } finally {
      Pkcs11Keyring.release(this.modulePath);
    }
  }
}
