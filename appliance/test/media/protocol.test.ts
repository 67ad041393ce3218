import t from 'tap';
import { checkCandidate, checkSdp, CLIENT_MESSAGE_TYPES, parseClientMessage, parseServerMessage, SIGNALING_ERRORS, SIGNALING_LIMITS, utf8Length } from '../../src/media/protocol.js';
import { OFFER } from '../harness/sdp.js';

const msg = (o: unknown) => parseClientMessage(JSON.stringify(o));

t.test('every client message type parses in its valid form', async (t) => {
  const valid = {
    join: { type: 'join', rid: 1 },
    publish: { type: 'publish', jsep: { type: 'offer', sdp: OFFER }, audio: true, video: false },
    subscribe: { type: 'subscribe' },
    answer: { type: 'answer', subscription: 's12', jsep: { type: 'answer', sdp: OFFER } },
    trickle: {
      type: 'trickle',
      pc: 'publisher',
      candidate: {
        candidate: 'candidate:842163049 1 udp 1677729535 127.0.0.2 46243 typ host generation 0 ufrag Fq3h network-cost 999',
        sdpMid: '0',
        sdpMLineIndex: 0,
        usernameFragment: 'Fq3h',
      },
    },
    'restart-ice': { type: 'restart-ice', pc: 's3' },
    chat: { type: 'chat', text: '你好，请出示身份证' },
    'media-state': { type: 'media-state', audio: true, video: false, screen: false },
    leave: { type: 'leave' },
    ping: { type: 'ping', rid: 0x7fffffff },
    quality: {
      type: 'quality',
      stages: { page_loaded: true, media_allowed: false },
      rttMs: 12,
      jitterMs: 3.5,
      lossRatio: 0.01,
      bitrateBps: 512000,
      width: 640,
      height: 480,
      fps: 20,
      candidate: 'relay',
    },
  };
  t.same(Object.keys(valid).sort(), [...CLIENT_MESSAGE_TYPES].sort(), 'the list covers every type');
  for (const [type, m] of Object.entries(valid)) {
    const r = msg(m);
    t.ok(r.ok, `${type} accepted`);
  }
  t.same(msg({ type: 'trickle', pc: 's7', candidate: null }), { ok: true, message: { type: 'trickle', pc: 's7', candidate: null } }, 'null candidate = end of candidates');
  t.same(msg({ type: 'chat', text: '  hello  ' }), { ok: true, message: { type: 'chat', text: 'hello' } }, 'chat is trimmed');
  const trickle = msg(valid.trickle);
  t.same(
    trickle.ok && trickle.message,
    { type: 'trickle', pc: 'publisher', candidate: { candidate: valid.trickle.candidate.candidate, sdpMid: '0', sdpMLineIndex: 0 } },
    'only the relayed candidate fields are kept',
  );
  const restart = msg({ type: 'restart-ice', pc: 'publisher', jsep: { type: 'offer', sdp: OFFER } });
  t.ok(restart.ok, 'a publisher restart carries its offer');
});

t.test('malformed, unknown and unexpected input gets a stable code', async (t) => {
  t.match(parseClientMessage('{'), { ok: false, code: SIGNALING_ERRORS.MALFORMED });
  t.match(parseClientMessage('[1,2]'), { ok: false, code: SIGNALING_ERRORS.MALFORMED });
  t.match(parseClientMessage('"join"'), { ok: false, code: SIGNALING_ERRORS.MALFORMED });
  t.match(parseClientMessage('null'), { ok: false, code: SIGNALING_ERRORS.MALFORMED });
  t.match(msg({ type: 'hack', rid: 5 }), { ok: false, code: SIGNALING_ERRORS.UNKNOWN_TYPE, rid: 5 }, 'the rid is echoed when readable');
  t.match(msg({ type: '__proto__' }), { ok: false, code: SIGNALING_ERRORS.UNKNOWN_TYPE });
  t.match(msg({ type: 'toString' }), { ok: false, code: SIGNALING_ERRORS.UNKNOWN_TYPE });
  t.match(msg({ rid: 1 }), { ok: false, code: SIGNALING_ERRORS.UNKNOWN_TYPE });
  t.match(msg({ type: 'join', room: 1234 }), { ok: false, code: SIGNALING_ERRORS.INVALID, message: /room/ }, 'unexpected fields are refused');
  t.match(msg({ type: 'join', rid: -1 }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  for (const bad of [
    { type: 'quality', lossRatio: 2 },
    { type: 'quality', rttMs: -1 },
    { type: 'quality', bitrateBps: 'fast' },
    { type: 'quality', height: 1e9 },
    { type: 'quality', candidate: 'tcp' },
    { type: 'quality', stages: { recording_started: true } },
    { type: 'quality', stages: { page_loaded: 'yes' } },
    { type: 'quality', stages: [] },
    { type: 'quality', sessionId: 'x' },
  ]) {
    t.match(msg(bad), { ok: false, code: SIGNALING_ERRORS.INVALID }, `quality ${JSON.stringify(bad)} refused`);
  }
  t.match(msg({ type: 'join', rid: 1.5 }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'publish', jsep: { type: 'offer', sdp: OFFER }, audio: 'yes', video: true }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'publish', jsep: { type: 'answer', sdp: OFFER }, audio: true, video: true }), { ok: false, code: SIGNALING_ERRORS.BAD_SDP }, 'publish needs an offer');
  t.match(msg({ type: 'publish', jsep: { type: 'offer', sdp: OFFER, extra: 1 }, audio: true, video: true }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'answer', subscription: 'publisher', jsep: { type: 'answer', sdp: OFFER } }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'answer', subscription: 's1; drop', jsep: { type: 'answer', sdp: OFFER } }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'trickle', pc: 'publisher' }), { ok: false, code: SIGNALING_ERRORS.INVALID }, 'candidate must be present (null allowed)');
  t.match(msg({ type: 'trickle', pc: 'janus-handle-1', candidate: null }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'restart-ice', pc: 'publisher' }), { ok: false, code: SIGNALING_ERRORS.INVALID }, 'a publisher restart needs its offer');
  t.match(msg({ type: 'restart-ice', pc: 's1', jsep: { type: 'offer', sdp: OFFER } }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'chat', text: '   ' }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'chat', text: 'x'.repeat(SIGNALING_LIMITS.maxChatChars + 1) }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'chat', text: 'bell\u0007' }), { ok: false, code: SIGNALING_ERRORS.INVALID });
  t.match(msg({ type: 'chat', text: 'abc\u202Eevil' }), { ok: false, code: SIGNALING_ERRORS.INVALID }, 'bidi overrides are refused (they disguise audit text)');
  t.ok(msg({ type: 'chat', text: 'line one\nline two\ttab' }).ok, 'newlines and tabs are fine');
  t.match(msg({ type: 'media-state', audio: true, video: true }), { ok: false, code: SIGNALING_ERRORS.INVALID });
});

t.test('size limit is on bytes, before parsing', async (t) => {
  const big = JSON.stringify({ type: 'chat', text: '字'.repeat(22_000) });
  t.ok(big.length < SIGNALING_LIMITS.maxMessageBytes, 'fewer characters than the limit…');
  t.ok(utf8Length(big) > SIGNALING_LIMITS.maxMessageBytes, '…but more bytes');
  t.match(parseClientMessage(big), { ok: false, code: SIGNALING_ERRORS.TOO_LARGE });
  t.match(parseClientMessage('{}', SIGNALING_LIMITS.maxMessageBytes + 1), { ok: false, code: SIGNALING_ERRORS.TOO_LARGE }, 'the received size counts');
  t.equal(utf8Length('a€😀'), Buffer.byteLength('a€😀'));
});

t.test('SDP sanity', async (t) => {
  t.equal(checkSdp(OFFER), null);
  t.equal(checkSdp(OFFER.replace(/\r\n/g, '\n')), null, 'bare newlines are tolerated');
  t.match(checkSdp(42), /string/);
  t.match(checkSdp('hello'), /v=0/);
  t.match(checkSdp(`x${OFFER}`), /v=0/);
  t.match(checkSdp(OFFER + 'a=x:'.padEnd(SIGNALING_LIMITS.maxSdpChars, 'y')), /longer/);
  t.match(checkSdp(OFFER.replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel')), /unexpected m-line "application"/);
  t.match(checkSdp(OFFER.replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97', 'm=video nine')), /malformed m-line/);
  t.match(checkSdp(OFFER + 'm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n'.repeat(3)), /more than 4/);
  t.match(checkSdp(OFFER.replace(/a=fingerprint:[^\r]*\r\n/, '')), /fingerprint/, 'no unencrypted media');
  t.match(checkSdp(OFFER.replace(/a=ice-ufrag:[^\r]*\r\n/, '')), /ICE credentials/);
  t.match(checkSdp(OFFER.replace('s=-', 's=\u0000')), /printable/);
  t.match(checkSdp(OFFER.replace('s=-', 'S=-')), /printable/);
  t.match(checkSdp('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:x\r\na=fingerprint:sha-256 AA\r\n'), /no audio or video/);
});

t.test('candidate shape', async (t) => {
  t.equal(checkCandidate({ candidate: 'candidate:0 1 UDP 2122252543 192.168.1.2 49203 typ host', sdpMid: '0', sdpMLineIndex: 0 }), null, 'Firefox style');
  t.equal(checkCandidate({ candidate: 'candidate:1 1 udp 2113937151 0e0f1a2b-3c4d.local 53422 typ host generation 0', sdpMid: null, sdpMLineIndex: 1 }), null, 'mDNS host');
  t.equal(checkCandidate({ candidate: 'candidate:3 1 tcp 1518280447 fd00::1 9 typ host tcptype active', sdpMid: '1' }), null, 'IPv6 TCP');
  t.match(checkCandidate('candidate:1'), /object/);
  t.match(checkCandidate({ candidate: 'a=candidate:1 1 udp 1 1.2.3.4 9 typ host', sdpMid: '0' }), /not an ICE candidate line/);
  t.match(checkCandidate({ candidate: 'candidate:1 1 udp 1 1.2.3.4 9 typ host\r\na=evil', sdpMid: '0' }), /not an ICE candidate line/);
  t.match(checkCandidate({ candidate: 'candidate:1 1 udp 1 1.2.3.4 9 typ host' }), /sdpMid or sdpMLineIndex/);
  t.match(checkCandidate({ candidate: 'candidate:1 1 udp 1 1.2.3.4 9 typ host', sdpMid: '0', extra: true }), /unexpected field/);
  t.match(checkCandidate({ candidate: 'candidate:1 1 udp 1 1.2.3.4 9 typ host', sdpMLineIndex: 99 }), /sdpMLineIndex/);
  t.match(checkCandidate({ candidate: `candidate:1 1 udp 1 1.2.3.4 9 typ host ${'x'.repeat(2000)}`, sdpMid: '0' }), /string/);
});

t.test('server frames are recognised by type only', async (t) => {
  t.same(parseServerMessage('{"type":"pong","rid":3}'), { type: 'pong', rid: 3 });
  t.equal(parseServerMessage('{"type":"surprise"}'), null);
  t.equal(parseServerMessage('not json'), null);
});
