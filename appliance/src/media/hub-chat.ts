// The call's chat log: numbered messages, loaded once per session from what the app stored (so a session that
// outlived an appliance restart keeps its messages and numbering), bounded in memory, relayed to both parties and
// replayed to a party that (re)joins.
import { send } from './hub-connections.js';
import type { HubEvents } from './hub-events.js';
import { Refused, rid, type CallSession, type Connection, type PartySlot, type SignalingHubOptions } from './hub-types.js';
import { PARTIES, SIGNALING_ERRORS } from './protocol.js';

/** messages kept per session for parties that (re)join; older ones are still in the session's record */
const MAX_CHAT_HISTORY = 500;

export class ChatLog {
  readonly #opts: Pick<SignalingHubOptions, 'chatHistory' | 'log'>;
  readonly #events: HubEvents;

  constructor(opts: Pick<SignalingHubOptions, 'chatHistory' | 'log'>, events: HubEvents) {
    this.#opts = opts;
    this.#events = events;
  }

  /**
   * Reads the session's stored chat once (true when it is known). A failure is logged and tried again at the next
   * join or message; meanwhile the call goes on and the joining party simply gets no history.
   */
  load(session: CallSession): Promise<boolean> {
    const source = this.#opts.chatHistory;
    if (!source) return Promise.resolve(true);
    session.chatLoaded ??= source(session.id).then(
      (stored) => {
        const seen = new Set(session.chat.map((c) => c.seq));
        session.chat = [...stored.messages.filter((c) => !seen.has(c.seq)), ...session.chat].sort((a, b) => a.seq - b.seq).slice(-MAX_CHAT_HISTORY);
        session.chatSeq = Math.max(session.chatSeq, stored.lastSeq);
        return true;
      },
      (err: unknown) => {
        this.#opts.log?.warn({ session: session.id, err: (err as Error).message }, 'chat history not loaded');
        session.chatLoaded = null;
        return false;
      },
    );
    return session.chatLoaded;
  }

  /** A party's message: numbered, recorded (or refused), kept and sent to both parties. */
  async post(conn: Connection, session: CallSession, slot: PartySlot, msg: { rid?: number; text: string }): Promise<void> {
    // Numbers go on from the stored conversation; without it (not readable now) the chat is refused rather than
    // numbered again from 1, which the browsers would drop as duplicates.
    if (!(await this.load(session))) throw new Refused(SIGNALING_ERRORS.REFUSED, 'the conversation so far could not be read; try again');
    // Taken before the await so that both parties' messages get distinct numbers; a refused one leaves a gap.
    const seq = ++session.chatSeq;
    await this.#events.action(conn, 'chat', { seq, text: msg.text });
    const at = new Date().toISOString();
    const entry = { seq, from: slot.party, text: msg.text, at };
    // in number order (the two parties' messages may be recorded in either order)
    let i = session.chat.length;
    while (i > 0 && session.chat[i - 1]!.seq > seq) i -= 1;
    session.chat.splice(i, 0, entry);
    if (session.chat.length > MAX_CHAT_HISTORY) session.chat.splice(0, session.chat.length - MAX_CHAT_HISTORY);
    for (const p of PARTIES) {
      const c = session.parties[p].conn;
      if (c) send(c, { type: 'chat', ...(c === conn ? rid(msg) : {}), seq, from: slot.party, text: msg.text, at });
    }
  }

  /** The conversation so far, to a party that reloads or reconnects (clients keep one copy per number). */
  replay(conn: Connection, session: CallSession): void {
    for (const c of session.chat) send(conn, { type: 'chat', ...c });
  }
}
