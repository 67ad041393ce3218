// Degrade, don't drop: what a call carries (video, audio only, or chat only) decided from the quality inputs of
// both parties. A pure state machine: the caller feeds it observations with their times and acts on the step it
// returns (tells both browsers, records the step). The whole call steps together: when either party's link cannot
// carry video, neither sends it.
//
//   video ──(loss above lossPct, or the sender's bandwidth estimate under minKbps, for downSeconds; or
//            `slowlinks` Janus slowlink reports within downSeconds)──▶ audio
//   audio ──(every party's loss at most upLossPct and no slowlink, for upSeconds × backoff)──▶ video
//   any   ──(a party's media stopped for chatAfterSeconds)──▶ chat ──(media flowing again for all)──▶ audio
//
// Hysteresis: stepping up needs a long clean stretch (no bandwidth estimate then: a browser sending audio only
// does not probe for video's bandwidth), and a call that falls back soon after stepping up waits twice as long
// before the next try (up to 8 times).
import type { CallMode, CallModeReason, Party } from '../media/protocol.js';

export type { CallMode } from '../media/protocol.js';
export type DegradeParty = Party;

export interface DegradeThresholds {
  /** sustained packet loss (percent) above which video stops */
  lossPct: number;
  /** a sender's bandwidth estimate (kbit/s) under which video stops */
  minKbps: number;
  /** how long a bad link must last before the call steps down */
  downSeconds: number;
  /** Janus slowlink reports within downSeconds that step down at once */
  slowlinks: number;
  /** loss (percent) at most which a link counts as recovered */
  upLossPct: number;
  /** how long a recovered link must last before video comes back */
  upSeconds: number;
  /** how long a party's media may stop before the call continues in chat */
  chatAfterSeconds: number;
}

export const DEFAULT_DEGRADE_THRESHOLDS: DegradeThresholds = {
  lossPct: 10,
  minKbps: 150,
  downSeconds: 6,
  slowlinks: 3,
  upLossPct: 3,
  upSeconds: 20,
  chatAfterSeconds: 5,
};

/** A figure older than this no longer counts (its stream stopped, e.g. video after the step down). */
export const DEGRADE_STALE_MS = 10_000;
/**
 * After a step, figures and slowlinks are ignored this long: streams that stop or resume report transients (the
 * first report after video resumes counts losses from before the step).
 */
export const DEGRADE_SETTLE_MS = 3000;
const MAX_BACKOFF = 8;

export type DegradeInput =
  /** one measurement of a party's link: `key` names the stream (e.g. janus/video, browser); at in ms */
  | { kind: 'sample'; at: number; party: DegradeParty; key: string; lossPct?: number; availableKbps?: number }
  | { kind: 'slowlink'; at: number; party: DegradeParty }
  /** whether Janus receives the party's audio (its media flowing or stopped) */
  | { kind: 'media'; at: number; party: DegradeParty; flowing: boolean }
  /** time passes (a timer), so that sustained conditions are noticed without new samples */
  | { kind: 'tick'; at: number };

export interface DegradeStep {
  from: CallMode;
  to: CallMode;
  reason: CallModeReason;
  /** the party whose link decided it (recovered, media-back: null) */
  party: DegradeParty | null;
  at: number;
}

interface Figure {
  at: number;
  lossPct?: number;
  availableKbps?: number;
}

export interface DegradeState {
  mode: CallMode;
  /** since when the link has been bad (video) or good (audio) without a break */
  since: number | null;
  /** why it is bad, with the party */
  cause: { reason: DegradeStep['reason']; party: DegradeParty } | null;
  figures: Record<string, Figure>;
  slowlinks: { at: number; party: DegradeParty }[];
  mediaLostSince: Partial<Record<DegradeParty, number>>;
  lastUpAt: number | null;
  backoff: number;
  /** figures before this time are ignored (just after a step) */
  settleUntil: number;
}

export function initialDegradeState(): DegradeState {
  return { mode: 'video', since: null, cause: null, figures: {}, slowlinks: [], mediaLostSince: {}, lastUpAt: null, backoff: 1, settleUntil: 0 };
}

/** Applies one input; returns the next state and the step taken, if any. Never mutates `state`. */
export function degradeStep(state: DegradeState, input: DegradeInput, th: DegradeThresholds): { state: DegradeState; step: DegradeStep | null } {
  const at = input.at;
  const s: DegradeState = {
    ...state,
    figures: { ...state.figures },
    slowlinks: state.slowlinks.filter((x) => at - x.at < Math.max(th.downSeconds, th.upSeconds) * 1000),
    mediaLostSince: { ...state.mediaLostSince },
  };
  const settling = at < s.settleUntil;
  if (input.kind === 'sample' && !settling && (input.lossPct !== undefined || input.availableKbps !== undefined)) {
    // a report without figures (nothing flowed on that stream since the last one) leaves the last figures to go stale
    s.figures[`${input.party}/${input.key}`] = {
      at,
      ...(input.lossPct !== undefined ? { lossPct: input.lossPct } : {}),
      ...(input.availableKbps !== undefined ? { availableKbps: input.availableKbps } : {}),
    };
  } else if (input.kind === 'slowlink' && !settling) {
    s.slowlinks.push({ at, party: input.party });
  } else if (input.kind === 'media') {
    if (input.flowing) delete s.mediaLostSince[input.party];
    else s.mediaLostSince[input.party] ??= at;
  }
  for (const [k, f] of Object.entries(s.figures)) if (at - f.at >= DEGRADE_STALE_MS) delete s.figures[k];

  const step = (to: CallMode, reason: DegradeStep['reason'], party: DegradeParty | null): { state: DegradeState; step: DegradeStep } => {
    const from = s.mode;
    if (to === 'video') s.lastUpAt = at;
    if (from === 'video' && to !== 'video') {
      // fell back soon after the last step up: the next try waits longer
      s.backoff = s.lastUpAt !== null && at - s.lastUpAt < 2 * th.upSeconds * 1000 ? Math.min(MAX_BACKOFF, s.backoff * 2) : 1;
    }
    s.mode = to;
    s.since = null;
    s.cause = null;
    // figures measured before the step describe streams that changed (video stopped or started): start afresh
    s.figures = {};
    s.slowlinks = [];
    s.settleUntil = at + DEGRADE_SETTLE_MS;
    return { state: s, step: { from, to, reason, party, at } };
  };

  // media stopped for long enough: chat, whatever the mode
  const lost = (Object.entries(s.mediaLostSince) as [DegradeParty, number][]).find(([, since]) => at - since >= th.chatAfterSeconds * 1000);
  if (s.mode !== 'chat' && lost) return step('chat', 'media-lost', lost[0]);
  if (s.mode === 'chat') {
    if (Object.keys(s.mediaLostSince).length === 0) return step('audio', 'media-back', null);
    return { state: s, step: null };
  }

  if (s.mode === 'video') {
    const burst = s.slowlinks.filter((x) => at - x.at < th.downSeconds * 1000);
    if (burst.length >= th.slowlinks) return step('audio', 'slowlink', burst[burst.length - 1]!.party);
    const bad = badCause(s.figures, th);
    if (!bad) {
      s.since = null;
      s.cause = null;
    } else {
      s.since ??= at;
      s.cause ??= bad;
      if (at - s.since >= th.downSeconds * 1000) return step('audio', s.cause.reason, s.cause.party);
    }
    return { state: s, step: null };
  }

  // audio: back to video after a clean stretch
  const clean = Object.values(s.figures).every((f) => f.lossPct === undefined || f.lossPct <= th.upLossPct) && s.slowlinks.length === 0 && Object.keys(s.mediaLostSince).length === 0;
  if (!clean) s.since = null;
  else {
    s.since ??= at;
    if (at - s.since >= th.upSeconds * s.backoff * 1000) return step('video', 'recovered', null);
  }
  return { state: s, step: null };
}

function badCause(figures: Record<string, Figure>, th: DegradeThresholds): { reason: 'loss' | 'bandwidth'; party: DegradeParty } | null {
  for (const [k, f] of Object.entries(figures)) {
    const party = k.split('/')[0] as DegradeParty;
    if (f.lossPct !== undefined && f.lossPct > th.lossPct) return { reason: 'loss', party };
    if (f.availableKbps !== undefined && f.availableKbps < th.minKbps) return { reason: 'bandwidth', party };
  }
  return null;
}
