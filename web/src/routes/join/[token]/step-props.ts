import type { JoinView } from '$lib/api.js';

/** What the join page gives each of the customer's steps. */
export interface JoinStepProps {
  /** the invitation token from the link */
  token: string;
  /** where the customer stands, as the appliance last said */
  view: JoinView;
  /** the appliance answered with a new state: the page moves to its step */
  onView: (view: JoinView) => void;
  /** true when the page took care of the error (another screen); false: show it here */
  onError: (err: unknown) => boolean;
}
