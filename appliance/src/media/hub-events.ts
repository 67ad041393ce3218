// What the hub tells the app (through `onEvent`, which persists and audits) and what it tells the other party of a
// state change. An action a party asks for is refused when the app cannot record it (fail-closed); a fact is only
// logged when it cannot be recorded.
import { send } from './hub-connections.js';
import { Refused, type CallSession, type Connection, type PartySlot, type SignalingEventType, type SignalingHubOptions } from './hub-types.js';
import { otherParty, SIGNALING_ERRORS, type PeerState } from './protocol.js';

export class HubEvents {
  readonly #opts: Pick<SignalingHubOptions, 'onEvent' | 'log'>;

  constructor(opts: Pick<SignalingHubOptions, 'onEvent' | 'log'>) {
    this.#opts = opts;
  }

  /** A party's action: rejects with Refused when the app could not record it. */
  async action(conn: Connection, type: SignalingEventType, data: Record<string, unknown>): Promise<void> {
    if (!this.#opts.onEvent) return;
    const { sessionId, party, actor } = conn.identity;
    try {
      await this.#opts.onEvent({ sessionId, party, actor, type, data, at: new Date() });
    } catch (err) {
      this.#opts.log?.warn({ session: sessionId, party, type, err: (err as Error).message }, 'signaling action refused');
      throw new Refused(SIGNALING_ERRORS.REFUSED, `the ${type} could not be recorded`);
    }
  }

  /** Something that happened to a party (media up, a dropped socket): recorded, never refused. */
  fact(session: CallSession, slot: PartySlot, type: SignalingEventType, data: Record<string, unknown>): void {
    if (!this.#opts.onEvent) return;
    this.#opts
      .onEvent({ sessionId: session.id, party: slot.party, actor: slot.actor, type, data, at: new Date() })
      .catch((err) => this.#opts.log?.error({ session: session.id, party: slot.party, type, err }, 'signaling event not recorded'));
  }

  /** The appliance's own decision (a call-mode step). */
  system(session: CallSession, type: SignalingEventType, data: Record<string, unknown>): void {
    if (!this.#opts.onEvent) return;
    this.#opts
      .onEvent({ sessionId: session.id, party: 'system', actor: { kind: 'system' }, type, data, at: new Date() })
      .catch((err) => this.#opts.log?.error({ session: session.id, type, err }, 'signaling event not recorded'));
  }
}

/** A party's new state; the other party is told. */
export function setPeerState(session: CallSession, slot: PartySlot, state: PeerState): void {
  slot.state = state;
  const other = session.parties[otherParty(slot.party)].conn;
  if (other) send(other, { type: 'peer-state', party: slot.party, state });
}
