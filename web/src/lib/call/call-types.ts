// The call client's public shapes: its states, events, options and statistics (re-exported by call-client.ts).
import type { CallMode, CallModeReason, CaptureRequestMessage, JanusState, KycUpdateKind, Party, PeerState } from '../../../../appliance/src/media/protocol.js';
import type { MediaMode } from '../../../../appliance/src/domain/vocabulary.js';
import type { CallError } from './signaling-socket.js';

export type CallState =
  /** before start() */
  | 'idle'
  /** opening the socket and joining */
  | 'connecting'
  /** in the session; our media is being set up */
  | 'joined'
  /** our media reaches the appliance */
  | 'live'
  /** the socket dropped; rejoining (the other party sees "reconnecting") */
  | 'reconnecting'
  /** the media server is down; chat still works, media resumes when it is back */
  | 'media-lost'
  /** hung up, left, or refused: final */
  | 'ended';

export interface ChatMessage {
  seq: number;
  from: Party;
  text: string;
  /** ISO time the appliance relayed it */
  at: string;
  mine: boolean;
}

export interface MediaState {
  audio: boolean;
  video: boolean;
  screen: boolean;
}

export type CallEvents = {
  state: CallState;
  /** our own camera/microphone (for the self view) */
  'local-stream': MediaStream;
  /** the other party's media; null when it went away */
  'remote-stream': MediaStream | null;
  peer: { party: Party; state: PeerState };
  'peer-media': { party: Party } & MediaState;
  chat: ChatMessage;
  janus: JanusState;
  /** ICE state of our sending or receiving peer connection (e.g. to show "poor connection") */
  connection: { pc: 'publisher' | 'subscriber'; state: RTCIceConnectionState };
  /** what the client does to bring media back without leaving the call */
  recovery: { pc: 'publisher' | 'subscriber'; action: 'ice-restart' | 'new-connection' };
  /** video stopped being sent (or resumed): by request, for lack of a camera, or because the uplink is lossy */
  fallback: { audioOnly: boolean; reason: 'requested' | 'no-camera' | 'slow-network' };
  /** the appliance stepped the call between video, audio only and chat (degrade, don't drop) */
  'call-mode': { mode: CallMode; reason: CallModeReason };
  /** (teller) a party's network quality, from its browser's latest summary */
  'link-quality': { party: Party; lossPct: number | null; rttMs: number | null; bitrateKbps: number | null };
  error: CallError;
  ended: { reason: string };
  /** the appliance asks this (customer's) browser for stills from its own camera */
  'capture-request': CaptureRequestMessage;
  /** the case's KYC evidence changed; read it again */
  'kyc-update': { what: KycUpdateKind };
};

export interface CallStats {
  inboundVideo: { framesDecoded: number; framesPerSecond: number; frameWidth: number; frameHeight: number; bytesReceived: number } | null;
  inboundAudio: { packetsReceived: number; bytesReceived: number } | null;
  outboundVideo: { framesEncoded: number; bytesSent: number } | null;
  outboundAudio: { packetsSent: number; bytesSent: number } | null;
  publisherIce: RTCIceConnectionState | null;
  subscriberIce: RTCIceConnectionState | null;
}

export interface CallClientOptions {
  /** the appliance's signaling URL, e.g. wss://kyc.branch.local/api/signaling (credentials as the appliance expects) */
  url: string;
  /**
   * How this party takes part: `video` (default) opens camera and microphone; `audio` the microphone only (no
   * camera is asked for, and no fallback is reported: voice only was chosen); `chat` opens no device and publishes
   * nothing: the party is live once joined and receives the other party's media and the chat.
   */
  mediaMode?: MediaMode;
  /** what to ask getUserMedia for; default audio + 640x480 video at 20 fps */
  constraints?: MediaStreamConstraints;
  /** an already opened stream (e.g. from the device check) instead of calling getUserMedia */
  localStream?: MediaStream;
  reconnectDelaysMs?: number[];
  /** how long ICE may stay "disconnected" before an ICE restart; default 2 s */
  iceGraceMs?: number;
  /** how long an ICE restart may take before another attempt (the third starts the connection over); default 3 s */
  iceRestartTimeoutMs?: number;
  /** uplink loss reports within 10 s that switch to audio only; default 3, 0 = never */
  audioOnlyAfterSlowlinks?: number;
  /** socket heartbeat; default 4 s */
  heartbeatMs?: number;
  /** how often a getStats summary goes to the appliance (operators' metrics); default 5 s, 0 = never */
  qualityReportMs?: number;
}
