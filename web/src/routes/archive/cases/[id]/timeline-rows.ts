// The case's history as one list in time order, from the timeline answer's separate parts.
import type { Timeline } from '$lib/archive-api.js';
import { m } from '$lib/paraglide/messages.js';

export interface TimelineRow {
  at: string;
  kind: string;
  label: string;
  party: string | null;
  detail: string | null;
  /** the session the moment belongs to, to jump its replay there */
  sessionId: string | null;
  fileUrl: string | null;
}

/** Session event kinds come from the server; one it adds later is shown by its name. */
export function eventLabel(kind: string): string {
  switch (kind) {
    case 'join':
      return m.tl_join();
    case 'leave':
    case 'disconnect':
    case 'timeout':
      return m.tl_leave();
    case 'reconnect':
      return m.tl_reconnect();
    case 'chat':
      return m.tl_chat();
    case 'screen-share-start':
      return m.tl_screenshare_start();
    case 'screen-share-stop':
      return m.tl_screenshare_stop();
    case 'media-state':
      return m.tl_media_state();
    case 'call-mode':
      return m.tl_call_mode();
    default:
      return kind;
  }
}

export function timelineRows(tl: Timeline): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const add = (at: string | null, kind: string, label: string, extra: Partial<TimelineRow> = {}) => {
    if (at) rows.push({ at, kind, label, party: null, detail: null, sessionId: null, fileUrl: null, ...extra });
  };
  for (const inv of tl.invitations) {
    add(inv.createdAt, 'invitation', m.tl_invitation(), { detail: inv.createdBy });
    add(inv.openedAt, 'invitation_opened', m.tl_invitation_opened(), { party: 'customer' });
    if (inv.codeAttempts > 0) {
      add(inv.codeVerifiedAt ?? inv.lockedAt ?? inv.openedAt, 'code_attempts', m.tl_code_attempts({ count: inv.codeAttempts }), { party: 'customer' });
    }
    add(inv.codeVerifiedAt, 'code_verified', m.tl_code_verified(), { party: 'customer' });
    add(inv.lockedAt, 'locked', m.tl_locked(), { party: 'customer' });
    add(inv.deviceCheckedAt, 'device_check', m.tl_device_check(), { party: 'customer' });
    add(inv.consentAt, 'consent', inv.consent === 'accepted' ? m.tl_consent_accepted() : m.tl_consent_declined(), { party: 'customer' });
    add(inv.revokedAt, 'revoked', m.tl_revoked());
  }
  for (const s of tl.sessions) {
    add(s.admittedAt, 'session_start', m.tl_session_start(), { sessionId: s.id });
    for (const e of s.events) {
      const detail = e.kind === 'call-mode' ? `${String(e.data['from'])} → ${String(e.data['to'])} (${String(e.data['reason'])})` : e.text;
      add(e.at, e.kind, eventLabel(e.kind), { party: e.party, detail, sessionId: s.id });
    }
    for (const q of s.qualityIncidents ?? []) {
      add(q.at, q.kind, q.kind, { party: q.party, sessionId: s.id });
    }
    for (const f of s.files) {
      add(f.at, 'file', m.tl_file(), { party: f.from, detail: f.name, sessionId: s.id, fileUrl: f.url });
    }
    add(s.endedAt, 'session_end', m.tl_session_end(), { detail: s.endReason, sessionId: s.id });
    if (s.recording) {
      add(s.recording.sealedAt, 'recording_sealed', m.tl_recording_sealed(), {
        detail: s.recording.complete === false ? m.archive_flag_incomplete() : null,
      });
    }
  }
  return rows.sort((a, b) => a.at.localeCompare(b.at));
}
