// One peer connection of the call client with what it holds back: our candidates until our description reached the
// appliance, and the ICE-restart bookkeeping. The client keeps two: its publisher and its one subscription.
import type { Candidate, IceServer } from '../../../../appliance/src/media/protocol.js';

export interface PcRef {
  id: string;
  pc: RTCPeerConnection;
  /** remote description set: remote candidates can be added */
  remoteSet: boolean;
  /** our offer/answer went out: local candidates can follow it */
  described: boolean;
  localQueue: (Candidate | null)[];
  iceTimer: ReturnType<typeof setTimeout> | null;
  restarting: boolean;
  /** ICE restarts since the connection was last up */
  restarts: number;
  watchdog: ReturnType<typeof setTimeout> | null;
}

export interface PublisherRef extends PcRef {
  audioSender: RTCRtpSender;
  videoSender: RTCRtpSender;
}

export interface SubscriberRef extends PcRef {
  stream: MediaStream;
}

function toCandidate(c: RTCIceCandidate | null): Candidate | null {
  if (!c || !c.candidate) return null;
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
}

/** A peer connection as both of ours are configured: one bundled transport, RTCP muxed. */
export function newPeerConnection(iceServers: IceServer[]): RTCPeerConnection {
  return new RTCPeerConnection({ iceServers: iceServers as RTCIceServer[], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
}

/** Wraps `pc`; its candidates go to `trickle` once described, and are held back until then. */
export function newPcRef(id: string, pc: RTCPeerConnection, trickle: (candidate: Candidate | null) => void): PcRef {
  const ref: PcRef = { id, pc, remoteSet: false, described: false, localQueue: [], iceTimer: null, restarting: false, restarts: 0, watchdog: null };
  pc.onicecandidate = (e) => {
    const c = toCandidate(e.candidate);
    if (ref.described) trickle(c);
    else ref.localQueue.push(c);
  };
  return ref;
}

/** Our description reached the appliance: the candidates held back can follow. */
export function markDescribed(ref: PcRef, trickle: (candidate: Candidate | null) => void): void {
  ref.described = true;
  for (const c of ref.localQueue.splice(0)) trickle(c);
}

export async function addRemoteCandidate(ref: PcRef, c: Candidate | null): Promise<void> {
  if (!c) return;
  try {
    await ref.pc.addIceCandidate(c);
  } catch {
    // A candidate for a closed or restarted connection: nothing to do.
  }
}

/** Stops its timers and closes it. */
export function closePcRef(ref: PcRef): void {
  if (ref.iceTimer) clearTimeout(ref.iceTimer);
  if (ref.watchdog) clearTimeout(ref.watchdog);
  ref.pc.close();
}
