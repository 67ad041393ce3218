// Words for identity-check results, shared by the teller's call console and the auditor's review.
import { m } from '$lib/paraglide/messages.js';

export function faceDecisionLabel(decision: string): string {
  if (decision === 'match') return m.face_decision_match();
  if (decision === 'review') return m.face_decision_review();
  return m.face_decision_no_match();
}

export function challengeLabel(kind: string, digits: string | null): string {
  switch (kind) {
    case 'turn-left':
      return m.challenge_turn_left();
    case 'turn-right':
      return m.challenge_turn_right();
    case 'blink':
      return m.challenge_blink();
    case 'open-mouth':
      return m.challenge_open_mouth();
    default:
      return m.challenge_read_digits({ digits: digits ?? '' });
  }
}
