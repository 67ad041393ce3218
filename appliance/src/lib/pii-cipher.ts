import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const VERSION = 1;

/**
 * Encrypts personal data fields at rest (AES-256-GCM, key outside the database). The associated data binds each
 * ciphertext to its record and field, so a value copied into another row or column does not decrypt.
 */
export class PiiCipher {
  constructor(
    private readonly key: Buffer,
    private readonly blindIndexKey: Buffer,
  ) {
    if (key.length !== 32 || blindIndexKey.length !== 32) throw new Error('PII keys must be 32 bytes');
  }

  encrypt(recordId: string, field: string, plaintext: string | Buffer): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(`${VERSION}:${recordId}:${field}`));
    const ct = Buffer.concat([typeof plaintext === 'string' ? c.update(plaintext, 'utf8') : c.update(plaintext), c.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), ct]);
  }

  decrypt(recordId: string, field: string, blob: Buffer): string {
    return this.decryptBytes(recordId, field, blob).toString('utf8');
  }

  decryptBytes(recordId: string, field: string, blob: Buffer): Buffer {
    if (blob.length < 29 || blob[0] !== VERSION) throw new Error('unsupported PII ciphertext');
    const d = createDecipheriv('aes-256-gcm', this.key, blob.subarray(1, 13));
    d.setAAD(Buffer.from(`${VERSION}:${recordId}:${field}`));
    d.setAuthTag(blob.subarray(13, 29));
    return Buffer.concat([d.update(blob.subarray(29)), d.final()]);
  }

  /** HMAC blind index for exact-match search: equal inputs give equal indexes, the key never enters the database. */
  blindIndex(kind: string, normalizedValue: string): Buffer {
    return createHmac('sha256', this.blindIndexKey).update(`${kind}\0${normalizedValue}`).digest();
  }
}
