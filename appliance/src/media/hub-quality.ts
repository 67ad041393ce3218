// A browser's `quality` report (its getStats summary): join stages and candidate type for the operators' metrics
// (each once per socket), the figures for the call's quality record, and the link quality shown live to the teller.
// Nothing of it is recorded as a session event or relayed to the customer.
import { send } from './hub-connections.js';
import type { CallSession, Connection, PartySlot, SignalingHubOptions } from './hub-types.js';
import type { BrowserJoinStage, ClientMessage } from './protocol.js';

export function reportQuality(
  opts: Pick<SignalingHubOptions, 'metrics' | 'quality'>,
  conn: Connection,
  session: CallSession,
  slot: PartySlot,
  msg: Extract<ClientMessage, { type: 'quality' }>,
): void {
  const { type: _t, rid: _r, stages, ...summary } = msg;
  for (const [stage, ok] of Object.entries(stages ?? {}) as [BrowserJoinStage, boolean][]) {
    if (conn.stages.has(stage)) continue;
    conn.stages.add(stage);
    opts.metrics?.joinStage(stage, ok);
  }
  // the selected candidate type counts once per socket, like the stages
  if (summary.candidate && conn.stages.has('candidate')) delete summary.candidate;
  else if (summary.candidate) conn.stages.add('candidate');
  opts.metrics?.browserQuality(slot.party, summary);
  const { candidate: _c, ...figures } = summary;
  opts.quality?.browser(session.id, slot.party, figures);
  // the teller sees both parties' network quality live
  const teller = session.parties.teller.conn;
  if (teller) {
    const r = (x: number | undefined, k = 1) => (x === undefined ? null : Math.round(x * k * 10) / 10);
    send(teller, { type: 'link-quality', party: slot.party, lossPct: r(summary.lossRatio, 100), rttMs: r(summary.rttMs), bitrateKbps: r(summary.bitrateBps, 1 / 1000) });
  }
}
