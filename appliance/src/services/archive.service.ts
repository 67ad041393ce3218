import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { isSealedMediaError, openSealedFile, recordingAad, type KeyWrapper, type SealedFileReader } from '@kyc/compliance';
import { isValidResidentId, normalizeResidentId } from '../domain/customer-identity.js';
import { DomainError } from '../domain/errors.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { archiveRepository, type ArchiveFilter, type ArchiveKey, type ArchiveRow, type ArchiveSort, type IntegrityFlag } from '../repositories/archive.repository.js';
import type { CaseStatus } from '../repositories/case.repository.js';
import { recordingRepository, type RecordingFileRow, type RecordingRow, type RecordingStatus } from '../repositories/recording.repository.js';
import { SEALED_SUFFIX } from '../recording/recording-layout.js';
import type { Queryable } from '../db/database.js';
import type { CaseService } from './case.service.js';
import type { ArchiveItem, ArchivePage } from '../api-types.js';

/** The search as the API receives it: personal data in clear, turned into blind indexes here and nowhere else. */
export interface ArchiveQuery {
  idNumber?: string | undefined;
  name?: string | undefined;
  teller?: string | undefined;
  branch?: string | undefined;
  product?: string | undefined;
  status?: CaseStatus | undefined;
  from?: string | undefined;
  to?: string | undefined;
  recordingStatus?: RecordingStatus | undefined;
  flag?: IntegrityFlag | undefined;
  sort?: ArchiveSort | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

export type { ArchiveItem, ArchivePage };

function encodeKey(k: ArchiveKey, sort: ArchiveSort): string {
  return Buffer.from(JSON.stringify([sort, k.createdKey, k.id])).toString('base64url');
}

function decodeKey(cursor: string, sort: ArchiveSort): ArchiveKey {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 3) throw new Error('shape');
    const [s, createdKey, id] = v as [unknown, unknown, unknown];
    if (s !== sort || typeof createdKey !== 'string' || typeof id !== 'string') throw new Error('shape');
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(createdKey) || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new Error('value');
    return { createdKey, id };
  } catch {
    throw new DomainError('BAD_PARAMETER', 'The cursor is not valid (or belongs to another sort order).', [{ field: 'cursor', code: 'cursor' }]);
  }
}

function parseTime(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new DomainError('BAD_PARAMETER', `${field} is not a date.`, [{ field, code: 'date' }]);
  return d;
}

/** Search, keyed and masked: the repository sees blind indexes, the caller sees masked values. */
/** Totals are exact up to this many matching cases. */
export const ARCHIVE_TOTAL_CAP = 10_000;

export async function searchArchive(db: Queryable, deps: { pii: PiiCipher; cases: CaseService }, q: ArchiveQuery): Promise<ArchivePage & { filter: ArchiveFilter }> {
  const filter: ArchiveFilter = {
    teller: q.teller,
    branch: q.branch,
    product: q.product,
    status: q.status,
    from: parseTime(q.from, 'from'),
    to: parseTime(q.to, 'to'),
    recordingStatus: q.recordingStatus,
    flag: q.flag,
  };
  if (q.idNumber !== undefined) {
    if (!isValidResidentId(q.idNumber)) throw new DomainError('BAD_PARAMETER', 'idNumber is not a valid resident ID number.', [{ field: 'idNumber', code: 'gb11643' }]);
    filter.idNumberBidx = deps.pii.blindIndex('resident_id', normalizeResidentId(q.idNumber));
  }
  if (q.name !== undefined) {
    const name = q.name.trim();
    if (name.length === 0) throw new DomainError('BAD_PARAMETER', 'name is empty.', [{ field: 'name', code: 'required' }]);
    filter.nameBidx = deps.pii.blindIndex('name', name);
  }
  if (filter.from && filter.to && filter.from >= filter.to) throw new DomainError('BAD_PARAMETER', 'from must be before to.', [{ field: 'from', code: 'range' }]);
  const sort = q.sort ?? 'created_desc';
  const limit = q.limit ?? 50;
  const after = q.cursor ? decodeKey(q.cursor, sort) : null;
  // One query after the other: `db` may be a transaction's client, which runs one query at a time.
  const rows = await archiveRepository.search(db, filter, sort, after, limit + 1);
  const { total, exact } = await archiveRepository.count(db, filter, ARCHIVE_TOTAL_CAP);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => archiveItem(row, deps.cases)),
    nextCursor: rows.length > limit && last ? encodeKey({ createdKey: last.created_key, id: last.id }, sort) : null,
    total,
    totalExact: exact,
    filter,
  };
}

function archiveItem(row: ArchiveRow, cases: CaseService): ArchiveItem {
  const view = cases.toView(row);
  const flags: IntegrityFlag[] = [];
  if (row.recording_complete === false) flags.push('incomplete');
  if ((row.recording_issue_count ?? 0) > 0) flags.push('issues');
  return {
    caseId: row.id,
    status: row.status,
    customerName: view.customerName,
    customerIdNumber: view.customerIdNumber,
    teller: row.teller,
    branch: row.branch,
    product: row.product,
    createdAt: view.createdAt,
    session: row.session_id && row.session_state ? { id: row.session_id, state: row.session_state } : null,
    recording:
      row.recording_id && row.recording_status ? { id: row.recording_id, status: row.recording_status, complete: row.recording_complete, issueCount: row.recording_issue_count ?? 0 } : null,
    flags,
  };
}

/** Audit details of a search: what was asked, with personal data only as blind-index hex. */
export function searchAuditDetails(f: ArchiveFilter, q: ArchiveQuery, total: number): Record<string, string | number | boolean | null> {
  return {
    idNumberBidx: f.idNumberBidx?.toString('hex') ?? null,
    nameBidx: f.nameBidx?.toString('hex') ?? null,
    teller: f.teller ?? null,
    branch: f.branch ?? null,
    product: f.product ?? null,
    status: f.status ?? null,
    from: f.from?.toISOString() ?? null,
    to: f.to?.toISOString() ?? null,
    recordingStatus: f.recordingStatus ?? null,
    flag: f.flag ?? null,
    sort: q.sort ?? 'created_desc',
    page: q.cursor ? 'next' : 'first',
    total,
  };
}

/**
 * Short-lived replay authorizations: `<recordingId>.<username>.<expiresUnix>.<mac>`, MAC = HMAC-SHA256 under a key
 * derived from the appliance's session key. Stateless: nothing to store or clean up, and a grant cannot be moved
 * to another recording or user; it cannot be revoked before it expires, which is why it lives minutes.
 */
export class ReplayGrants {
  private readonly key: Buffer;

  constructor(
    sessionKey: Buffer,
    readonly ttlSeconds = 15 * 60,
  ) {
    this.key = createHmac('sha256', sessionKey).update('kyc replay grant v1').digest();
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  issue(recordingId: string, username: string, now = new Date()): { grant: string; expiresAt: Date } {
    const exp = Math.floor(now.getTime() / 1000) + this.ttlSeconds;
    const payload = `${recordingId}.${Buffer.from(username, 'utf8').toString('base64url')}.${exp}`;
    return { grant: `${payload}.${this.mac(payload)}`, expiresAt: new Date(exp * 1000) };
  }

  /** True when the grant was issued by this appliance for this recording and user and has not expired. */
  check(grant: string | undefined, recordingId: string, username: string, now = new Date()): boolean {
    if (!grant) return false;
    const parts = grant.split('.');
    if (parts.length !== 4) return false;
    const [rid, user, exp, mac] = parts as [string, string, string, string];
    const expected = Buffer.from(this.mac(`${rid}.${user}.${exp}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    if (rid !== recordingId || Buffer.from(user, 'base64url').toString('utf8') !== username) return false;
    return /^\d{1,12}$/.test(exp) && Number(exp) * 1000 > now.getTime();
  }
}

/** A party's sealed media file, opened for ranges (the data key is unwrapped, used and wiped here). */
export interface OpenedMedia {
  file: RecordingFileRow;
  reader: SealedFileReader;
}

/** Opens sealed media of the archive for replay, with the process's keyring (which follows KEK rotation). */
export class ArchiveMedia {
  /**
   * Readers opened recently: a replay asks for many ranges of the same file, and opening one (unwrapping the data
   * key, deriving the file key, reading the header) costs more than serving a small range. Bounded in number and
   * time; sealed files never change.
   */
  private readonly readers = new Map<string, { opened: Promise<OpenedMedia>; expires: number }>();
  private static readonly READER_TTL_MS = 5 * 60_000;
  private static readonly MAX_READERS = 32;

  constructor(private readonly o: { archiveDir: string; keyring: KeyWrapper }) {}

  private unwrap(rec: RecordingRow): Promise<Buffer> {
    return this.o.keyring.unwrap({ kid: rec.kek_id!, wrapped: rec.wrapped_key! }, rec.id);
  }

  private keyOf(rec: RecordingRow, file: RecordingFileRow): string {
    return `${rec.id}/${file.name}/${rec.kek_id}`;
  }

  async open(rec: RecordingRow, file: RecordingFileRow): Promise<OpenedMedia> {
    const key = this.keyOf(rec, file);
    const now = Date.now();
    const hit = this.readers.get(key);
    if (hit && hit.expires > now) return hit.opened;
    this.sweep(now);
    while (this.readers.size >= ArchiveMedia.MAX_READERS) {
      const [k, v] = this.readers.entries().next().value as [string, { opened: Promise<OpenedMedia> }];
      this.evict(k, v.opened);
    }
    const opened = this.openUncached(rec, file);
    this.readers.set(key, { opened, expires: now + ArchiveMedia.READER_TTL_MS });
    opened.catch(() => this.readers.delete(key));
    // expired readers close within a TTL even when no request comes to evict them
    this.sweeper ??= setInterval(() => this.sweep(Date.now()), ArchiveMedia.READER_TTL_MS).unref();
    return opened;
  }

  /**
   * The plaintext bytes [start, end] of a sealed media file, from a cached reader. A reader evicted (and so closing)
   * between the lookup and the start of the range is opened again once.
   */
  async range(rec: RecordingRow, file: RecordingFileRow, start: number, end: number): Promise<AsyncIterableIterator<Buffer>> {
    for (let attempt = 0; ; attempt++) {
      const opened = await this.open(rec, file);
      try {
        return opened.reader.readRange(start, end) as AsyncIterableIterator<Buffer>;
      } catch (err) {
        if (attempt > 0 || !isSealedMediaError(err, 'KYC_ERR_SEALED_CLOSED')) throw err;
        // still cached (closed by someone else): drop it, unless another reader took its place meanwhile
        const key = this.keyOf(rec, file);
        const current = this.readers.get(key);
        if (current && (await current.opened.catch(() => null)) === opened) this.readers.delete(key);
      }
    }
  }

  private sweeper: NodeJS.Timeout | null = null;

  private sweep(now: number): void {
    for (const [k, v] of this.readers) if (v.expires <= now) this.evict(k, v.opened);
  }

  /** Drops a reader; its file closes once the ranges being served from it have ended. */
  private evict(key: string, opened: Promise<OpenedMedia>): void {
    this.readers.delete(key);
    opened.then((m) => m.reader.close()).catch(() => undefined);
  }

  /** Closes every cached reader (at shutdown). */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    const all = [...this.readers.values()].map((v) => v.opened);
    this.readers.clear();
    await Promise.all(all.map((o) => o.then((m) => m.reader.close()).catch(() => undefined)));
  }

  private async openUncached(rec: RecordingRow, file: RecordingFileRow): Promise<OpenedMedia> {
    if (!file.name.endsWith(SEALED_SUFFIX)) throw new Error(`recording file ${file.name} is not sealed media`);
    const dataKey = await this.unwrap(rec);
    try {
      const reader = await openSealedFile(join(this.o.archiveDir, rec.id, file.name), dataKey, recordingAad(rec.id, file.name.slice(0, -SEALED_SUFFIX.length)), {
        expectedCiphertextSize: Number(file.ciphertext_bytes),
      });
      return { file, reader };
    } finally {
      dataKey.fill(0);
    }
  }
}

/** A sealed recording and its media files, or 404 / 409 as the API reports them. */
export async function sealedRecording(db: Queryable, id: string): Promise<{ rec: RecordingRow; media: RecordingFileRow[] }> {
  const rec = await recordingRepository.findById(db, id);
  if (!rec) throw new DomainError('NOT_FOUND', 'No such recording.');
  if (rec.shredded_at) throw new DomainError('SHREDDED');
  if (rec.status !== 'sealed' || !rec.wrapped_key || !rec.kek_id) throw new DomainError('CONFLICT', 'The recording is not sealed yet.');
  const media = (await recordingRepository.files(db, id)).filter((f) => f.kind === 'media' && f.party !== null && f.segment !== null);
  return { rec, media };
}

/**
 * Sealed recordings looked up by the media route, kept for a minute: a replay sends many range requests for the same
 * recording, and a sealed recording's row and files do not change. Only successful lookups are kept.
 */
export class SealedRecordingCache {
  private readonly entries = new Map<string, { value: Promise<{ rec: RecordingRow; media: RecordingFileRow[] }>; expires: number }>();
  private static readonly TTL_MS = 60_000;
  private static readonly MAX = 256;

  constructor(private readonly db: Queryable) {}

  get(id: string): Promise<{ rec: RecordingRow; media: RecordingFileRow[] }> {
    const now = Date.now();
    const hit = this.entries.get(id);
    if (hit && hit.expires > now) return hit.value;
    if (this.entries.size >= SealedRecordingCache.MAX) this.entries.clear();
    const value = sealedRecording(this.db, id);
    this.entries.set(id, { value, expires: now + SealedRecordingCache.TTL_MS });
    value.catch(() => this.entries.delete(id));
    return value;
  }
}
