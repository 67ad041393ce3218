import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_KEY_SIZE } from './streaming-aead.js';
import { SealedMediaError } from './errors.js';
import { syncDir, writeFileDurably } from '../fs/durable.js';

/**
 * Key-encryption keys (KEKs) and per-recording data keys.
 *
 * A KEK directory (0700) holds one file per KEK, `<kid>.kek` (0600, JSON: v, kid, alg, key in base64,
 * createdAt), and `current`, the kid new data keys are wrapped with. Rotation adds a KEK and points `current`
 * at it; older KEKs stay and still unwrap what they wrapped until `rewrap` has moved every data key to the
 * current one, after which an old KEK file can be destroyed (crypto-shredding whatever it alone still wraps).
 *
 * A data key is wrapped with AES-256-GCM under the KEK, bound to the kid and to the recording id, so a wrapped
 * key copied onto another recording does not unwrap. The `KeyWrapper` interface is also implemented by the PKCS#11
 * keyring (pkcs11-keyring.ts: the KEK never leaves the HSM); `KeyringSet` (keyring-set.ts) routes between the two.
 */

export const KEK_FILE_SUFFIX = '.kek';
export const CURRENT_FILE = 'current';
const KEK_FILE_VERSION = 1;
const WRAP_VERSION = 1;
const WRAP_NONCE = 12;
const WRAP_TAG = 16;
/** version ‖ nonce ‖ wrapped key ‖ tag */
export const WRAPPED_KEY_SIZE = 1 + WRAP_NONCE + DATA_KEY_SIZE + WRAP_TAG;
const KID = /^kek-[0-9]{8}-[0-9a-f]{8}$/;

export interface WrappedKey {
  kid: string;
  wrapped: Buffer;
}

export interface KeyWrapper {
  /** the kid new data keys are wrapped with */
  currentKeyId(): string;
  wrap(dataKey: Buffer, context: string): Promise<WrappedKey>;
  unwrap(key: WrappedKey, context: string): Promise<Buffer>;
}

interface KekFile {
  v: number;
  kid: string;
  alg: 'A256GCMKW';
  key: string;
  createdAt: string;
}

/** The associated data of a data-key wrap: binds the kid and the recording or export (file and HSM KEKs alike). */
export function wrapAad(kid: string, context: string): Buffer {
  return Buffer.from(`kyc-data-key/v1 ${kid} ${context}`, 'utf8');
}

export function wrapDataKey(kek: Buffer, kid: string, dataKey: Buffer, context: string): Buffer {
  if (dataKey.length !== DATA_KEY_SIZE) throw new SealedMediaError('KYC_ERR_SEALED_KEY', 'a data key is 32 bytes');
  const nonce = randomBytes(WRAP_NONCE);
  const c = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: WRAP_TAG });
  c.setAAD(wrapAad(kid, context));
  const body = Buffer.concat([c.update(dataKey), c.final()]);
  return Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, body, c.getAuthTag()]);
}

export function unwrapDataKey(kek: Buffer, kid: string, wrapped: Buffer, context: string): Buffer {
  if (wrapped.length !== WRAPPED_KEY_SIZE || wrapped[0] !== WRAP_VERSION) {
    throw new SealedMediaError('KYC_ERR_SEALED_KEY', 'wrapped data key has an unknown format');
  }
  const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(1, 1 + WRAP_NONCE), { authTagLength: WRAP_TAG });
  d.setAAD(wrapAad(kid, context));
  d.setAuthTag(wrapped.subarray(wrapped.length - WRAP_TAG));
  const body = d.update(wrapped.subarray(1 + WRAP_NONCE, wrapped.length - WRAP_TAG));
  try {
    d.final();
  } catch (err) {
    throw new SealedMediaError('KYC_ERR_SEALED_KEY', `data key does not unwrap with KEK ${kid} (wrong KEK, or wrapped for another recording)`, { cause: err });
  }
  return body;
}

/** A new KEK id (file KEKs) or token key label (HSM KEKs): `kek-YYYYMMDD-xxxxxxxx`. */
export function newKid(now: Date): string {
  const d = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `kek-${d}-${randomBytes(4).toString('hex')}`;
}

/**
 * Who may read a KEK directory. Default: its owner only (0700/0600). `groupReadable`: also the directory's group
 * (0750/0640; never writable by it, never readable by others) — separate OS users where the worker seals and the
 * appliance plays back; the installer sets the group.
 */
export interface KeyringAccess {
  groupReadable?: boolean;
}

/** Creates a new KEK in `dir` (made 0700, or 0750 with group read, if missing) and makes it current. Returns its kid. */
export async function createKek(dir: string, now: Date = new Date(), access: KeyringAccess = {}): Promise<string> {
  const group = access.groupReadable ?? false;
  await mkdir(dir, { recursive: true, mode: group ? 0o750 : 0o700 });
  if (!group) await chmod(dir, 0o700);
  const kid = newKid(now);
  const mode = group ? 0o640 : 0o600;
  const file: KekFile = { v: KEK_FILE_VERSION, kid, alg: 'A256GCMKW', key: randomBytes(32).toString('base64'), createdAt: now.toISOString() };
  await writeFileDurably(join(dir, `${kid}${KEK_FILE_SUFFIX}`), `${JSON.stringify(file)}\n`, { mode, how: 'exclusive' });
  await writeFileDurably(join(dir, CURRENT_FILE), `${kid}\n`, { mode, how: 'replace' });
  await syncDir(dir);
  return kid;
}

async function checkPrivate(path: string, what: string, access: KeyringAccess): Promise<void> {
  const st = await stat(path);
  if (access.groupReadable) {
    if ((st.mode & 0o027) !== 0)
      throw new SealedMediaError('KYC_ERR_SEALED_KEY', `${what} ${path} must not be writable by its group nor accessible by others (chmod ${st.isDirectory() ? '750' : '640'})`);
  } else if ((st.mode & 0o077) !== 0) {
    throw new SealedMediaError('KYC_ERR_SEALED_KEY', `${what} ${path} must not be accessible by group or others (chmod ${st.isDirectory() ? '700' : '600'})`);
  }
}

/** The file-based keyring: every KEK of a directory, `current` for wrapping. */
export class FileKeyring implements KeyWrapper {
  private constructor(
    readonly dir: string,
    private readonly keks: Map<string, Buffer>,
    private readonly current: string,
  ) {}

  /** Loads a KEK directory; refuses group/other-readable files, malformed KEKs and a `current` that is missing. */
  static async open(dir: string, access: KeyringAccess = {}): Promise<FileKeyring> {
    try {
      await checkPrivate(dir, 'KEK directory', access);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK directory ${dir} does not exist`);
      throw err;
    }
    const keks = new Map<string, Buffer>();
    for (const name of (await readdir(dir)).sort()) {
      if (!name.endsWith(KEK_FILE_SUFFIX)) continue;
      const path = join(dir, name);
      await checkPrivate(path, 'KEK file', access);
      let parsed: KekFile;
      try {
        parsed = JSON.parse(await readFile(path, 'utf8')) as KekFile;
      } catch {
        throw new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK file ${path} is not JSON`);
      }
      const key = typeof parsed.key === 'string' ? Buffer.from(parsed.key, 'base64') : Buffer.alloc(0);
      if (parsed.v !== KEK_FILE_VERSION || parsed.alg !== 'A256GCMKW' || !KID.test(parsed.kid) || `${parsed.kid}${KEK_FILE_SUFFIX}` !== name || key.length !== 32) {
        throw new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK file ${path} is malformed`);
      }
      keks.set(parsed.kid, key);
    }
    let current: string;
    try {
      current = (await readFile(join(dir, CURRENT_FILE), 'utf8')).trim();
    } catch {
      throw new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK directory ${dir} has no ${CURRENT_FILE} file`);
    }
    if (!keks.has(current)) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `current KEK ${current} has no key file in ${dir}`);
    return new FileKeyring(dir, keks, current);
  }

  /** Opens the directory, creating it with a first KEK when it holds none. */
  static async openOrCreate(dir: string, access: KeyringAccess = {}): Promise<{ keyring: FileKeyring; created: string | null }> {
    let created: string | null = null;
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!names.some((n) => n.endsWith(KEK_FILE_SUFFIX))) created = await createKek(dir, new Date(), access);
    return { keyring: await FileKeyring.open(dir, access), created };
  }

  keyIds(): string[] {
    return [...this.keks.keys()];
  }

  currentKeyId(): string {
    return this.current;
  }

  async wrap(dataKey: Buffer, context: string): Promise<WrappedKey> {
    return { kid: this.current, wrapped: wrapDataKey(this.keks.get(this.current)!, this.current, dataKey, context) };
  }

  async unwrap(key: WrappedKey, context: string): Promise<Buffer> {
    const kek = this.keks.get(key.kid);
    if (!kek) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `KEK ${key.kid} is not in ${this.dir} (destroyed, or another installation's)`);
    return unwrapDataKey(kek, key.kid, key.wrapped, context);
  }
}

/**
 * The keyring a long-running process builds once and shares (server routes, worker, exports): it follows the KEK
 * directory as `kyc-archive rotate-kek`, `rewrap` and the destruction of an old KEK change it. Before each use it
 * compares the directory's generation (the directory's and `current`'s inode and change times) with the one it
 * loaded and reloads when they differ, so new data keys are wrapped under the KEK `current` names now, and a
 * destroyed KEK no longer unwraps. Nothing is read before the first use: a process may start before the first KEK
 * exists (the worker creates it).
 */
export class LiveKeyring implements KeyWrapper {
  private loaded: { generation: string; keyring: FileKeyring } | null = null;
  private loading: Promise<FileKeyring> | null = null;

  constructor(
    readonly dir: string,
    private readonly access: KeyringAccess = {},
  ) {}

  /** Creates the first KEK when the directory holds none, then returns a live keyring on it. */
  static async openOrCreate(dir: string, access: KeyringAccess = {}): Promise<{ keyring: LiveKeyring; created: string | null }> {
    const { created } = await FileKeyring.openOrCreate(dir, access);
    const keyring = new LiveKeyring(dir, access);
    await keyring.current();
    return { keyring, created };
  }

  private async generation(): Promise<string | null> {
    try {
      const [d, c] = await Promise.all([stat(this.dir, { bigint: true }), stat(join(this.dir, CURRENT_FILE), { bigint: true })]);
      return `${d.ino}:${d.mtimeNs}:${d.ctimeNs}:${c.ino}:${c.mtimeNs}:${c.ctimeNs}`;
    } catch {
      return null;
    }
  }

  /** The directory's keys as they are now (reloaded when the generation moved on). */
  async current(): Promise<FileKeyring> {
    const generation = await this.generation();
    if (this.loaded && generation !== null && generation === this.loaded.generation) return this.loaded.keyring;
    this.loading ??= (async () => {
      try {
        const before = await this.generation();
        const keyring = await FileKeyring.open(this.dir, this.access);
        // a change while loading leaves the generation unmatched, so the next use loads again
        this.loaded = before === null ? null : { generation: before, keyring };
        return keyring;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /** The kid last loaded as current (wrap() always reads the directory's generation first). */
  currentKeyId(): string {
    if (!this.loaded) throw new SealedMediaError('KYC_ERR_SEALED_KEY', `the KEK directory ${this.dir} has not been read yet`);
    return this.loaded.keyring.currentKeyId();
  }

  async wrap(dataKey: Buffer, context: string): Promise<WrappedKey> {
    return (await this.current()).wrap(dataKey, context);
  }

  async unwrap(key: WrappedKey, context: string): Promise<Buffer> {
    return (await this.current()).unwrap(key, context);
  }
}

/** A fresh random data key for one recording. */
export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_SIZE);
}

/** Moves a wrapped data key to the keyring's current KEK (no-op result when it is already there). */
export async function rewrapDataKey(keyring: KeyWrapper, key: WrappedKey, context: string): Promise<WrappedKey | null> {
  if (key.kid === keyring.currentKeyId()) return null;
  const dataKey = await keyring.unwrap(key, context);
  try {
    return await keyring.wrap(dataKey, context);
  } finally {
    dataKey.fill(0);
  }
}
