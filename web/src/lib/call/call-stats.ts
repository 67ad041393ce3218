// What the call client reads from getStats: the figures of both directions for `getStats()`, and the summary it
// sends the appliance every few seconds (loss, jitter, bitrate and freezes since the last one, the received video's
// size and frame rate, the round-trip time and the selected candidate type).
import type { CallMode, QualitySummary } from '../../../../appliance/src/media/protocol.js';
import type { CallStats } from './call-types.js';

interface PeerConnections {
  /** our sending peer connection */
  pub: RTCPeerConnection | undefined;
  /** our receiving one */
  sub: RTCPeerConnection | undefined;
}

export async function collectCallStats({ pub, sub }: PeerConnections): Promise<CallStats> {
  const stats: CallStats = {
    inboundVideo: null,
    inboundAudio: null,
    outboundVideo: null,
    outboundAudio: null,
    publisherIce: pub?.iceConnectionState ?? null,
    subscriberIce: sub?.iceConnectionState ?? null,
  };
  const collect = async (pc: RTCPeerConnection | undefined) => {
    if (!pc) return;
    (await pc.getStats()).forEach((r: Record<string, unknown>) => {
      const n = (k: string) => Number(r[k] ?? 0);
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        stats.inboundVideo = {
          framesDecoded: n('framesDecoded'),
          framesPerSecond: n('framesPerSecond'),
          frameWidth: n('frameWidth'),
          frameHeight: n('frameHeight'),
          bytesReceived: n('bytesReceived'),
        };
      } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        stats.inboundAudio = { packetsReceived: n('packetsReceived'), bytesReceived: n('bytesReceived') };
      } else if (r.type === 'outbound-rtp' && r.kind === 'video') {
        stats.outboundVideo = { framesEncoded: n('framesEncoded'), bytesSent: n('bytesSent') };
      } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
        stats.outboundAudio = { packetsSent: n('packetsSent'), bytesSent: n('bytesSent') };
      }
    });
  };
  await collect(sub);
  await collect(pub);
  return stats;
}

/** Summaries of the call's quality; rates are over the time since the previous summary. */
export class QualitySampler {
  #last: { bytes: number; lost: number; received: number; freezes: number; at: number } | null = null;

  /** The summary now (without join stages), and the frames decoded or encoded so far (media flows when above 0). */
  async sample({ pub, sub }: PeerConnections, callMode: CallMode): Promise<{ summary: QualitySummary; frames: number }> {
    const q: QualitySummary = {};
    const now = performance.now();
    let bytes = 0;
    let lost = 0;
    let received = 0;
    let jitter: number | undefined;
    const candidates = new Map<string, Record<string, unknown>>();
    let selected: Record<string, unknown> | undefined;
    let frames = 0;
    let freezes = 0;
    for (const pc of [sub, pub]) {
      if (!pc) continue;
      (await pc.getStats()).forEach((r: Record<string, unknown>) => {
        const n = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : 0);
        if (r.type === 'inbound-rtp') {
          bytes += n('bytesReceived');
          lost += Math.max(0, n('packetsLost'));
          received += n('packetsReceived');
          if (r.kind === 'video') {
            frames += n('framesDecoded');
            freezes += n('freezeCount');
            if (n('frameHeight') > 0) q.height = Math.min(8192, n('frameHeight'));
            if (n('frameWidth') > 0) q.width = Math.min(8192, n('frameWidth'));
            if (n('framesPerSecond') > 0) q.fps = Math.min(240, n('framesPerSecond'));
          }
          if (typeof r.jitter === 'number') jitter = Math.max(jitter ?? 0, r.jitter * 1000);
        } else if (r.type === 'outbound-rtp') {
          frames += n('framesEncoded');
        } else if (r.type === 'candidate-pair') {
          if (r.nominated && r.state === 'succeeded' && pc === pub) selected = r;
        } else if (r.type === 'local-candidate') {
          candidates.set(String(r.id), r);
        }
      });
    }
    if (selected) {
      if (typeof selected.currentRoundTripTime === 'number') q.rttMs = Math.min(60_000, selected.currentRoundTripTime * 1000);
      // the sender's bandwidth estimate: meaningful only while it sends video (audio alone does not probe)
      if (typeof selected.availableOutgoingBitrate === 'number' && callMode === 'video') q.availableKbps = Math.min(1e7, selected.availableOutgoingBitrate / 1000);
      const type = candidates.get(String(selected.localCandidateId))?.candidateType;
      if (type === 'host' || type === 'srflx' || type === 'prflx' || type === 'relay') q.candidate = type;
    }
    if (jitter !== undefined) q.jitterMs = Math.min(60_000, jitter);
    const prev = this.#last;
    if (prev && bytes >= prev.bytes && now > prev.at) q.bitrateBps = Math.min(1e9, ((bytes - prev.bytes) * 8 * 1000) / (now - prev.at));
    if (prev && lost >= prev.lost && received >= prev.received && lost - prev.lost + received - prev.received > 0) {
      q.lossRatio = (lost - prev.lost) / (lost - prev.lost + received - prev.received);
    }
    if (prev && freezes > prev.freezes) q.freezes = Math.min(1000, freezes - prev.freezes);
    this.#last = { bytes, lost, received, freezes, at: now };
    return { summary: q, frames };
  }
}
