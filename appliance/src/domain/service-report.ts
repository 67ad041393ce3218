/** The languages the service runs in, a visit's states, a teller's presence. */
export type ServiceLang = 'zh-CN' | 'en';
export const VISIT_STATES = ['assistant', 'queued', 'accepted', 'left', 'callback', 'expired'] as const;
export type VisitState = (typeof VISIT_STATES)[number];
export type PresenceStatus = 'available' | 'busy' | 'away';
export type CallbackOutcome = 'reached' | 'unreachable';

/** The queue and satisfaction figures of the admin report: no personal data, tellers by user name. */
export interface ServiceReportFigures {
  waiting: { productCode: string; lang: string; count: number }[];
  avgWaitSeconds: number | null;
  p90WaitSeconds: number | null;
  handled: number;
  abandoned: number;
  callbacks: number;
  /** call-backs asked for (at any time) and not yet done */
  callbacksOpen: number;
  perTeller: { teller: string; handled: number; avgWaitSeconds: number | null }[];
  ratings: { teller: string | null; productCode: string; day: string; count: number; average: number }[];
}
