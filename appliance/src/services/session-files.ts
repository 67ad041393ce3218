import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CallFile } from '../api-types.js';
import type { Queryable } from '../db/database.js';
import { DomainError } from '../domain/errors.js';
import { MAX_SESSION_FILE_BYTES, MAX_SESSION_FILES, sanitizeFileName, type AllowedFileType } from '../domain/file-types.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { callSessionRepository, type CallSessionRow } from '../repositories/call-session.repository.js';
import { caseFileRepository, type CaseFileRow } from '../repositories/case-file.repository.js';
import type { AuditWrite } from './audited-transaction.js';

/** A file of a session as the API shows it. */
function fileView(f: CaseFileRow): CallFile {
  return { id: f.id, name: f.name, mediaType: f.media_type, size: f.size, sha256: f.sha256.toString('hex'), from: f.party, at: f.created_at.toISOString() };
}

/** A file sent in a session, checked by content already: its name as sent and its sniffed media type. */
export interface SessionUpload {
  filename: string;
  mediaType: AllowedFileType;
  content: Buffer;
}

/** Images and PDFs exchanged during a session: stored encrypted with the case, counted against the session's limits. */
export class SessionFiles {
  constructor(private readonly pii: PiiCipher) {}

  /** Stores a file a party of a live session sent, with its session event and audit event, in the caller's transaction. */
  async store(client: pg.PoolClient, audit: AuditWrite, session: CallSessionRow, party: 'teller' | 'customer', upload: SessionUpload): Promise<CallFile> {
    const { content, mediaType: type } = upload;
    const id = randomUUID();
    const used = await caseFileRepository.usageOfSessionLocked(client, session.id);
    if (used.files >= MAX_SESSION_FILES || used.bytes + content.length > MAX_SESSION_FILE_BYTES) {
      throw new DomainError(
        'SESSION_FILES_LIMIT',
        `One session holds at most ${MAX_SESSION_FILES} files and ${MAX_SESSION_FILE_BYTES / 1024 / 1024} MB; this one has ${used.files} files, ${Math.round(used.bytes / 1024 / 1024)} MB.`,
      );
    }
    const f = await caseFileRepository.insert(client, {
      id,
      case_id: session.case_id,
      session_id: session.id,
      party,
      name: sanitizeFileName(upload.filename, type),
      media_type: type,
      size: content.length,
      sha256: createHash('sha256').update(content).digest(),
      contentEnc: this.pii.encryptForCase(session.case_id, id, 'case_file', content),
    });
    await callSessionRepository.addEvent(client, { sessionId: session.id, party, kind: 'file', data: { fileId: id, mediaType: type, size: content.length } });
    await audit({ object: { type: 'file', id }, details: { sessionId: session.id, caseId: session.case_id, mediaType: type, size: content.length, party } });
    return fileView(f);
  }

  async listOfSession(db: Queryable, sessionId: string): Promise<CallFile[]> {
    return (await caseFileRepository.listForSession(db, sessionId)).map(fileView);
  }

  /** A file with its encrypted content (null content: shredded with its case). */
  find(db: Queryable, fileId: string): ReturnType<typeof caseFileRepository.findWithContent> {
    return caseFileRepository.findWithContent(db, fileId);
  }

  /** The file's content, decrypted (the caller audits the download first). */
  open(fileId: string, contentEnc: Buffer): Buffer {
    return this.pii.decryptBytes(fileId, 'case_file', contentEnc);
  }
}
