import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { DomainError } from '../domain/errors.js';

/** Ciphertext under the appliance-wide key (data that belongs to no case, and values written before case keys). */
const V_APPLIANCE = 1;
/** Ciphertext under the case's own data key, which lives in the case key store (outside the database). */
const V_CASE = 2;
const IV = 12;
const TAG = 16;

/** A case's data key is gone (its personal data was crypto-shredded): what was encrypted under it cannot be read. */
export class CaseKeyDestroyedError extends DomainError {
  readonly code = 'KYC_ERR_SHREDDED';
  constructor(readonly caseId: string) {
    // the API answers it as every shredded item: 410 KYC_ERR_SHREDDED, with its standard message
    super('SHREDDED');
    this.name = 'CaseKeyDestroyedError';
  }
}

export const isCaseKeyDestroyed = (err: unknown): err is CaseKeyDestroyedError => err instanceof CaseKeyDestroyedError;

// Case ids are UUIDs; anything else never becomes a file name.
const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function seal(key: Buffer, aad: string, plaintext: Buffer, header: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([header, iv, c.getAuthTag(), ct]);
}

function open(key: Buffer, aad: string, body: Buffer): Buffer {
  if (body.length < IV + TAG) throw new Error('unsupported PII ciphertext');
  const d = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(body.subarray(IV, IV + TAG));
  return Buffer.concat([d.update(body.subarray(IV + TAG)), d.final()]);
}

/**
 * One data key per case, each in its own file of a directory outside the database (R11, R13): the file holds the key
 * encrypted under the appliance's PII key and bound to its case id. Destroying the file is the crypto-shredding of
 * the case's personal data: the database rows (and any old dump of them) then hold ciphertext nobody can open, although
 * the appliance-wide key still exists. Files are written durably (fsync'd file and directory) before first use;
 * a key lost after its data was written would lose that data, so the folder is backed up with the secrets.
 */
export class CaseKeyStore {
  private readonly cache = new Map<string, Buffer>();

  constructor(
    readonly dir: string,
    private readonly wrappingKey: Buffer,
    private readonly cacheSize = 10_000,
  ) {
    if (wrappingKey.length !== 32) throw new Error('the case key store needs a 32-byte wrapping key');
  }

  private path(caseId: string): string {
    if (!CASE_ID.test(caseId)) throw new Error('not a case id');
    return join(this.dir, `${caseId}.key`);
  }

  private remember(caseId: string, key: Buffer): Buffer {
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(caseId, key);
    return key;
  }

  private unwrap(caseId: string, file: Buffer): Buffer {
    if (file[0] !== V_APPLIANCE) throw new Error(`case key file of ${caseId} is not valid`);
    return open(this.wrappingKey, `${V_APPLIANCE}:${caseId}:case_key`, file.subarray(1));
  }

  /** The case's key, or null when it was destroyed (or never made). */
  get(caseId: string): Buffer | null {
    const hit = this.cache.get(caseId);
    if (hit) return hit;
    let file: Buffer;
    try {
      file = readFileSync(this.path(caseId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return this.remember(caseId, this.unwrap(caseId, file));
  }

  /** The case's key, made (durably) on first use. */
  getOrCreate(caseId: string): Buffer {
    const existing = this.get(caseId);
    if (existing) return existing;
    const key = randomBytes(32);
    const final = this.path(caseId);
    const tmp = join(this.dir, `.${caseId}.${randomBytes(6).toString('hex')}.tmp`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, seal(this.wrappingKey, `${V_APPLIANCE}:${caseId}:case_key`, key, Buffer.from([V_APPLIANCE])));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      // link(2) does not replace: of two processes making the same case's key at once, one wins and both use it
      linkSync(tmp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(tmp);
    }
    syncDirSync(this.dir);
    const made = this.get(caseId);
    if (!made) throw new Error(`case key of ${caseId} vanished while it was made`);
    return made;
  }

  /** Destroys the case's key for good (fsync'd unlink); true when there was one. */
  destroy(caseId: string): boolean {
    this.cache.delete(caseId);
    try {
      unlinkSync(this.path(caseId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    syncDirSync(this.dir);
    return true;
  }
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * Encrypts personal data fields at rest (AES-256-GCM, keys outside the database). The associated data binds each
 * ciphertext to its record and field, so a value copied into another row or column does not decrypt. A customer's
 * data is encrypted under its case's own key (`encryptForCase`), so that destroying that key shreds it; the
 * appliance-wide key serves data that belongs to no case, and still opens values written before case keys existed.
 */
export class PiiCipher {
  constructor(
    private readonly key: Buffer,
    private readonly blindIndexKey: Buffer,
    readonly caseKeys: CaseKeyStore,
  ) {
    if (key.length !== 32 || blindIndexKey.length !== 32) throw new Error('PII keys must be 32 bytes');
  }

  /** Under the appliance-wide key: only for data that belongs to no case (e.g. a signed-in user's refresh token). */
  encrypt(recordId: string, field: string, plaintext: string | Buffer): Buffer {
    return seal(this.key, `${V_APPLIANCE}:${recordId}:${field}`, toBytes(plaintext), Buffer.from([V_APPLIANCE]));
  }

  /** Under the case's own key (made on first use): everything that belongs to a customer's case. */
  encryptForCase(caseId: string, recordId: string, field: string, plaintext: string | Buffer): Buffer {
    const key = this.caseKeys.getOrCreate(caseId);
    const id = Buffer.from(caseId, 'ascii');
    return seal(key, `${V_CASE}:${caseId}:${recordId}:${field}`, toBytes(plaintext), Buffer.concat([Buffer.from([V_CASE, id.length]), id]));
  }

  decrypt(recordId: string, field: string, blob: Buffer): string {
    return this.decryptBytes(recordId, field, blob).toString('utf8');
  }

  /** Opens either form; a value whose case key was destroyed throws `CaseKeyDestroyedError`. */
  decryptBytes(recordId: string, field: string, blob: Buffer): Buffer {
    if (blob[0] === V_APPLIANCE) return open(this.key, `${V_APPLIANCE}:${recordId}:${field}`, blob.subarray(1));
    if (blob[0] === V_CASE && blob.length > 2) {
      const end = 2 + blob[1]!;
      const caseId = blob.subarray(2, end).toString('ascii');
      const key = this.caseKeys.get(caseId);
      if (!key) throw new CaseKeyDestroyedError(caseId);
      return open(key, `${V_CASE}:${caseId}:${recordId}:${field}`, blob.subarray(end));
    }
    throw new Error('unsupported PII ciphertext');
  }

  /** The case a ciphertext is bound to (null for the appliance-wide form). */
  static caseOf(blob: Buffer): string | null {
    return blob[0] === V_CASE && blob.length > 2 ? blob.subarray(2, 2 + blob[1]!).toString('ascii') : null;
  }

  /** HMAC blind index for exact-match search: equal inputs give equal indexes, the key never enters the database. */
  blindIndex(kind: string, normalizedValue: string): Buffer {
    return createHmac('sha256', this.blindIndexKey).update(`${kind}\0${normalizedValue}`).digest();
  }
}

const toBytes = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
