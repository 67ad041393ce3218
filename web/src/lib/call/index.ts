export { CallClient, CallError, type CallClientOptions, type CallEvents, type CallState, type CallStats, type ChatMessage, type MediaState } from './call-client.js';
export type { Party, PeerState, JanusState, CallMode, CallModeReason } from '../../../../appliance/src/media/protocol.js';
export { SIGNALING_PATH } from '../../../../appliance/src/media/protocol.js';
