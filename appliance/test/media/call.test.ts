// A real call: our Janus, the signaling relay and two headless Chromium pages running the web call client,
// all inside a network namespace each test creates. Both sides must decode each other's video, chat, survive
// a dropped socket and a Janus restart, shrug off protocol abuse from another session, and leave recordings.
// Each test starts its own stack and call, so any one can run alone (tap --grep).
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { CLOSE_CODES, SIGNALING_ERRORS, SIGNALING_LIMITS } from '../../src/media/protocol.js';
import { startCallStack, type CallStack } from '../harness/call-stack.js';
import { RawSignalingClient } from '../harness/signaling-client.js';
import { waitFor } from '../helpers/recording-fixtures.js';

const run = promisify(execFile);
const DEADLINE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Stats {
  inboundVideo: { framesDecoded: number } | null;
}

async function framesDecoded(page: Page): Promise<number> {
  const s = (await page.evaluate('window.__client.getStats()')) as Stats;
  return s.inboundVideo?.framesDecoded ?? 0;
}

/** Remote video is being decoded now: more frames than before the call, and more again a moment later. */
async function assertDecoding(t: Test, page: Page, who: string): Promise<void> {
  const start = await framesDecoded(page);
  // A new subscription starts from zero; a recovered one continues from where it stalled.
  await page.evaluate(`window.__decoding(${start}, ${DEADLINE_MS})`).catch(() => {});
  const before = await framesDecoded(page);
  await sleep(600);
  const after = await framesDecoded(page);
  const ok = t.ok(before > 0 && after > before, `${who} decodes remote video (framesDecoded ${before} → ${after})`);
  if (!ok) t.comment(JSON.stringify({ events: await page.evaluate('window.__events.filter(e => e.at > Date.now() - 30000)'), stats: await page.evaluate('window.__client.getStats()') }));
}

/** Waits until the page has recorded an event matching the JavaScript condition `cond` (on `e`). */
function waitEvent(page: Page, cond: string): Promise<unknown> {
  return page.waitForFunction(`window.__events.some((e) => ${cond})`, undefined, { timeout: DEADLINE_MS });
}

function eventsOf(page: Page, name: string): Promise<{ name: string; at: number; data: unknown }[]> {
  return page.evaluate(`window.__eventsOf(${JSON.stringify(name)})`) as Promise<{ name: string; at: number; data: unknown }[]>;
}

const REFUSE_CHAT = 'please refuse this';
/** a session the hub meets as after an appliance restart: its stored chat is read back */
const RESTARTED = 'session-restarted';
/** a session whose stored chat cannot be read the first two times */
const UNREADABLE = 'session-unreadable';
const SESSION = 'session-a';
const GREETING = 'Good morning, please hold your ID card up.';

/** A call stack whose app refuses one chat line (it cannot audit it) and holds stored chat for two sessions. */
function startStack(t: Test): Promise<CallStack> {
  let unreadableFails = 2;
  return startCallStack(t, {
    // The app refuses an action when it cannot audit it: here, a chat line it is told to refuse.
    onEvent: async (e) => {
      if (e.type === 'chat' && e.data.text === REFUSE_CHAT) throw new Error('audit log unavailable');
    },
    // What the appliance stored for a session before it restarted (the hub starts with no memory of it).
    chatHistory: async (sessionId) => {
      if (sessionId === UNREADABLE && unreadableFails-- > 0) throw new Error('database unavailable');
      return sessionId === RESTARTED
        ? {
            messages: [
              { seq: 1, from: 'teller', text: 'before the restart', at: '2026-11-23T01:00:00.000Z' },
              { seq: 4, from: 'customer', text: 'me too', at: '2026-11-23T01:00:05.000Z' },
            ],
            lastSeq: 6, // a sixth message that could not be read back
          }
        : { messages: [], lastSeq: sessionId === UNREADABLE ? 9 : 0 };
    },
  });
}

interface Call {
  stack: CallStack;
  teller: Page;
  customer: Page;
  tellerToken: string;
  customerToken: string;
}

/** A teller recording left from before an appliance restart: new segments must not overwrite it. */
async function leaveOldTellerSegment(stack: CallStack): Promise<void> {
  await mkdir(join(stack.recordingRoot, SESSION), { mode: 0o700 });
  await writeFile(join(stack.recordingRoot, SESSION, 'teller-s07-audio-0.mjr'), 'leftover');
}

/** Both parties of SESSION in their own browser, joined and decoding each other's video. */
async function joinCall(t: Test, stack: CallStack): Promise<Call> {
  const tellerToken = stack.credential(SESSION, 'teller');
  const customerToken = stack.credential(SESSION, 'customer');
  const teller = await stack.openCallPage(await stack.launchBrowser(), tellerToken);
  const customer = await stack.openCallPage(await stack.launchBrowser(), customerToken);
  await teller.evaluate('window.__start()');
  await customer.evaluate('window.__start()');
  await assertDecoding(t, teller, 'the teller');
  await assertDecoding(t, customer, 'the customer');
  await waitEvent(teller, "e.name === 'peer' && e.data.party === 'customer' && e.data.state === 'media-up'");
  return { stack, teller, customer, tellerToken, customerToken };
}

/** Chat both ways, and a line the app refuses; answers whether the refused sender was told so. */
async function chatBothWays(c: Call): Promise<string> {
  await c.teller.evaluate(`window.__client.sendChat(${JSON.stringify(GREETING)})`);
  await waitEvent(c.customer, `e.name === 'chat' && e.data.from === 'teller' && e.data.text === ${JSON.stringify(GREETING)}`);
  await c.customer.evaluate("window.__client.sendChat('  Like this?  ')");
  await waitEvent(c.teller, "e.name === 'chat' && e.data.from === 'customer' && e.data.text === 'Like this?'");
  const refused = (await c.customer.evaluate(`window.__client.sendChat(${JSON.stringify(REFUSE_CHAT)}).then(() => 'sent', (e) => e.code)`)) as string;
  await c.customer.evaluate("window.__client.sendChat('after the refusal')");
  await waitEvent(c.teller, "e.name === 'chat' && e.data.text === 'after the refusal'");
  return refused;
}

/** Cuts the customer's signaling socket and waits until it rejoined with media up again; answers the time of the cut. */
async function dropCustomerSocket(t: Test, c: Call): Promise<number> {
  const cut = Date.now();
  const socket = c.stack.sockets.get(c.customerToken);
  t.ok(socket, 'the customer socket is known');
  socket?.destroy();
  await waitEvent(c.teller, `e.name === 'peer' && e.data.party === 'customer' && e.data.state === 'reconnecting' && e.at > ${cut}`);
  t.pass('the teller sees the customer reconnecting');
  await waitEvent(c.customer, `e.name === 'state' && e.data === 'reconnecting' && e.at > ${cut}`);
  await waitEvent(c.teller, `e.name === 'peer' && e.data.party === 'customer' && e.data.state === 'media-up' && e.at > ${cut}`);
  t.pass('then its media up again');
  return cut;
}

t.test('Janus loads only the VideoRoom plugin and the WebSocket transport, its API on loopback only', async (t) => {
  const stack = await startStack(t);
  t.same(stack.janus().info.plugins, ['janus.plugin.videoroom'], 'Janus loaded only the VideoRoom plugin');
  t.same(stack.janus().info.transports, ['janus.transport.websockets'], 'and only the WebSocket transport');
  const probe = stack.ns.spawn(process.execPath, ['-e', "require('net').connect(8288, '127.0.0.2').on('connect', () => process.exit(0)).on('error', () => process.exit(3))"]);
  const probeExit = await new Promise<number | null>((resolve) => probe.once('exit', resolve));
  t.equal(probeExit, 3, 'the Janus API is bound to loopback only, not to the media address');
});

t.test('both parties join and decode each other', async (t) => {
  const stack = await startStack(t);
  await leaveOldTellerSegment(stack);
  const { teller } = await joinCall(t, stack);
  t.ok(await teller.evaluate("window.__client.state === 'live'"), 'the teller is live');
  t.match(stack.events.find((e) => e.party === 'teller' && e.type === 'publish')?.data, { segment: 8, recording: 'teller-s08' }, 'segments on disk are skipped');
  const kinds = stack.events.filter((e) => e.sessionId === SESSION).map((e) => `${e.party}:${e.type}`);
  for (const k of ['teller:join', 'teller:publish', 'teller:media-up', 'customer:join', 'customer:publish', 'customer:media-up']) t.ok(kinds.includes(k), `event ${k} reported`);
  const publish = stack.events.find((e) => e.party === 'customer' && e.type === 'publish');
  t.match(publish?.data, { segment: 1, recording: 'customer-s01' }, 'the first publish is recording segment 1');
  t.same(publish?.actor, { kind: 'invitation', invitationId: `inv-${SESSION}` }, 'with the actor authenticate() gave');
});

t.test('chat both ways; a chat the app refuses reaches nobody', async (t) => {
  const c = await joinCall(t, await startStack(t));
  t.equal(await chatBothWays(c), SIGNALING_ERRORS.REFUSED, 'the sender learns the chat was refused');
  const tellerChats = (await eventsOf(c.teller, 'chat')).map((e) => (e.data as { text: string }).text);
  t.ok(tellerChats.includes(GREETING) && tellerChats.includes('Like this?'), 'the teller has both sides of the chat');
  t.notOk(tellerChats.includes(REFUSE_CHAT), 'the other party never saw it');
  const audited = c.stack.events.filter((e) => e.type === 'chat').map((e) => e.data.text);
  t.ok(audited.includes('Like this?'), 'chat is reported trimmed');
});

t.test('media controls: mute, audio only and screen share reach the other side and the audit', async (t) => {
  const { stack, teller, customer } = await joinCall(t, await startStack(t));
  const cut = Date.now();
  await customer.evaluate('window.__client.setMicEnabled(false)');
  await waitEvent(teller, `e.name === 'peer-media' && e.data.party === 'customer' && e.data.audio === false && e.at > ${cut}`);
  await customer.evaluate('window.__client.setMicEnabled(true)');
  await waitEvent(teller, `e.name === 'peer-media' && e.data.party === 'customer' && e.data.audio === true && e.at > ${cut}`);
  t.pass('mute and unmute are shown to the teller');

  await customer.evaluate('window.__client.setAudioOnly(true)');
  await waitEvent(customer, "e.name === 'fallback' && e.data.audioOnly === true && e.data.reason === 'requested'");
  await waitEvent(teller, `e.name === 'peer-media' && e.data.party === 'customer' && e.data.video === false && e.at > ${cut}`);
  // real media time: frames in flight when video stopped are decoded first, then a second with no video at all
  await sleep(800);
  const stats = (page: Page) => page.evaluate('window.__client.getStats()') as Promise<{ inboundVideo: { framesDecoded: number }; inboundAudio: { packetsReceived: number } }>;
  const a = await stats(teller);
  await sleep(1000);
  const b = await stats(teller);
  t.equal(b.inboundVideo.framesDecoded, a.inboundVideo.framesDecoded, 'audio only: no more video frames');
  t.ok(b.inboundAudio.packetsReceived > a.inboundAudio.packetsReceived, 'while audio keeps coming');
  await customer.evaluate('window.__client.setAudioOnly(false)');
  await assertDecoding(t, teller, 'video back: the teller');

  await customer.evaluate('window.__client.startScreenShare()');
  await waitEvent(teller, `e.name === 'peer-media' && e.data.party === 'customer' && e.data.screen === true && e.at > ${cut}`);
  await assertDecoding(t, teller, 'sharing the screen: the teller');
  await customer.evaluate('window.__client.stopScreenShare()');
  await waitEvent(teller, `e.name === 'peer-media' && e.data.party === 'customer' && e.data.screen === false && e.at > ${cut}`);
  const audited = stack.events.filter((e) => e.party === 'customer' && e.at.getTime() >= cut).map((e) => e.type);
  t.ok(audited.includes('screen-share-start') && audited.includes('screen-share-stop'), 'screen sharing is reported');
  t.ok(audited.filter((type) => type === 'media-state').length >= 4, 'so are mute and audio-only');
});

t.test('protocol abuse from another session changes nothing here', async (t) => {
  const { stack, teller, customer } = await joinCall(t, await startStack(t));
  const url = (party: 'teller' | 'customer') => stack.signalingUrlFromHost(stack.credential('session-b', party));
  const origin = stack.baseUrl;

  const stranger = await RawSignalingClient.open(stack.signalingUrlFromHost('no-such-token'), origin);
  t.match(await stranger.next('error'), { code: SIGNALING_ERRORS.UNAUTHENTICATED });
  t.equal((await stranger.closed).code, CLOSE_CODES.UNAUTHENTICATED, 'an unknown credential is closed with 4401');

  const elsewhere = await RawSignalingClient.open(url('customer'), 'http://evil.example');
  t.match(await elsewhere.next('error'), { code: SIGNALING_ERRORS.FORBIDDEN_ORIGIN });
  t.equal((await elsewhere.closed).code, CLOSE_CODES.FORBIDDEN, 'another origin is closed with 4403');

  const bad = await RawSignalingClient.open(url('customer'), origin);
  bad.send('{"type": "join",');
  t.match(await bad.next('error'), { code: SIGNALING_ERRORS.MALFORMED }, 'malformed JSON');
  bad.send({ type: 'launch-missiles', rid: 7 });
  t.match(await bad.next('error'), { code: SIGNALING_ERRORS.UNKNOWN_TYPE, rid: 7 }, 'unknown type');
  bad.sendBinary(Buffer.from([1, 2, 3]));
  t.match(await bad.next('error'), { code: SIGNALING_ERRORS.MALFORMED }, 'binary frame');
  t.match(
    await bad.request({ type: 'publish', jsep: { type: 'offer', sdp: 'v=0\r\n' }, audio: true, video: true }, 1),
    { type: 'error', code: SIGNALING_ERRORS.BAD_SDP },
    'bad SDP is refused before any state check',
  );
  t.match(
    await bad.request({ type: 'answer', subscription: 's1', jsep: { type: 'answer', sdp: 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:x\r\na=fingerprint:sha-256 AB\r\n' } }, 2),
    { type: 'error', code: SIGNALING_ERRORS.WRONG_STATE },
    'answer before join',
  );
  t.match(await bad.request({ type: 'join' }, 3), { type: 'joined', party: 'customer', peer: { party: 'teller', state: 'absent' } });
  t.match(await bad.request({ type: 'join' }, 4), { type: 'error', code: SIGNALING_ERRORS.WRONG_STATE }, 'a second join');
  t.match(
    await bad.request({ type: 'answer', subscription: 's999', jsep: { type: 'answer', sdp: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\na=fingerprint:sha-256 AB\r\n' } }, 5),
    { type: 'error', code: SIGNALING_ERRORS.UNKNOWN_HANDLE },
    'unknown subscription',
  );
  t.match(await bad.request({ type: 'trickle', pc: 'publisher', candidate: null }, 6), { type: 'error', code: SIGNALING_ERRORS.UNKNOWN_HANDLE }, 'trickle without a publisher');
  t.match(
    await bad.request(
      {
        type: 'publish',
        jsep: { type: 'offer', sdp: 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:x\r\na=fingerprint:sha-256 AB\r\n' },
        audio: true,
        video: true,
      },
      8,
    ),
    { type: 'error', code: SIGNALING_ERRORS.BAD_SDP },
    'unexpected m-line',
  );
  t.match(await bad.request({ type: 'trickle', pc: 'publisher', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host; rm -rf /', sdpMid: '0' } }, 9), {
    type: 'error',
    code: SIGNALING_ERRORS.BAD_CANDIDATE,
  });
  t.match(await bad.request({ type: 'chat', text: 'x'.repeat(SIGNALING_LIMITS.maxChatChars + 1) }, 10), { type: 'error', code: SIGNALING_ERRORS.INVALID });
  bad.send(JSON.stringify({ type: 'chat', text: 'y'.repeat(SIGNALING_LIMITS.maxMessageBytes) }));
  t.match(await bad.next('error'), { code: SIGNALING_ERRORS.TOO_LARGE }, 'an oversized frame gets an error frame');
  t.match(await bad.request({ type: 'ping' }, 11), { type: 'pong' }, 'and the socket still works');

  const huge = await RawSignalingClient.open(url('teller'), origin);
  huge.send('z'.repeat(4 * SIGNALING_LIMITS.maxMessageBytes + 1));
  // The server closes with 1009 at once; the close frame may lose the race with the rest of the upload (1006).
  t.ok([CLOSE_CODES.TOO_BIG, 1006].includes((await huge.closed).code), 'a frame beyond the server limit is cut off');

  const flood = await RawSignalingClient.open(url('teller'), origin);
  for (let i = 0; i < 500; i++) flood.send({ type: 'ping' });
  t.match(await flood.next('error'), { code: SIGNALING_ERRORS.RATE_LIMITED });
  t.equal((await flood.closed).code, CLOSE_CODES.POLICY, 'flooding is closed with 1008');

  bad.close();
  await assertDecoding(t, teller, 'the teller of the other session');
  await assertDecoding(t, customer, 'the customer of the other session');
  t.equal(stack.hub.describe(SESSION)?.parties.customer.state, 'media-up');
});

t.test('the customer loses the socket: it comes back and the teller sees it happen', async (t) => {
  const c = await joinCall(t, await startStack(t));
  await chatBothWays(c);
  const cut = await dropCustomerSocket(t, c);
  const { stack, teller, customer } = c;
  await waitEvent(customer, `e.name === 'remote-stream' && e.data === true && e.at > ${cut}`);
  await assertDecoding(t, customer, 'the reconnected customer');
  await waitEvent(teller, `e.name === 'remote-stream' && e.data === true && e.at > ${cut}`);
  await assertDecoding(t, teller, 'the teller');
  const after = stack.events.filter((e) => e.party === 'customer' && e.at.getTime() >= cut).map((e) => e.type);
  t.ok(after.includes('disconnect') && after.includes('reconnect'), 'disconnect and reconnect are reported');
  const segment = stack.events.filter((e) => e.party === 'customer' && e.type === 'publish').at(-1);
  t.match(segment?.data, { segment: 2, recording: 'customer-s02' }, 'the reconnect starts recording segment 2');
  await waitEvent(customer, `e.name === 'chat' && e.data.text === ${JSON.stringify(GREETING)} && e.at > ${cut}`);
  await waitEvent(customer, `e.name === 'chat' && e.data.text === 'after the refusal' && e.at > ${cut}`);
  const again = (await eventsOf(customer, 'chat')).filter((e) => e.at > cut).map((e) => (e.data as { text: string }).text);
  t.notOk(again.includes(REFUSE_CHAT), 'the conversation is sent again on rejoin, without the refused line');
});

t.test('the network under the media drops for a few seconds: ICE recovers on the same call', async (t) => {
  const { stack, teller, customer } = await joinCall(t, await startStack(t));
  const cut = Date.now();
  // Signaling stays up (it runs over lo); only the media address goes away.
  await run('ip', ['netns', 'exec', stack.ns.name, 'ip', 'link', 'set', stack.ns.mediaInterface, 'down']);
  await waitEvent(teller, `e.name === 'peer' && e.data.party === 'customer' && e.data.state === 'reconnecting' && e.at > ${cut}`);
  t.pass('the teller sees the customer reconnecting');
  await waitEvent(customer, `e.name === 'connection' && e.data.pc === 'publisher' && ['disconnected', 'failed'].includes(e.data.state) && e.at > ${cut}`);
  // the outage itself is what is under test: real seconds of no network for ICE
  await sleep(2000);
  await run('ip', ['netns', 'exec', stack.ns.name, 'ip', 'link', 'set', stack.ns.mediaInterface, 'up']);
  await waitEvent(teller, `e.name === 'peer' && e.data.party === 'customer' && e.data.state === 'media-up' && e.at > ${cut}`);
  t.pass('then its media up again');
  await waitEvent(customer, `e.name === 'connection' && e.data.pc === 'publisher' && e.data.state === 'connected' && e.at > ${cut}`);
  const recoveries = (await eventsOf(customer, 'recovery')).filter((e) => e.at > cut).map((e) => e.data as { pc: string; action: string });
  t.ok(
    recoveries.some((r) => r.pc === 'publisher' && r.action === 'ice-restart'),
    'the customer restarted ICE on its publisher',
  );
  await assertDecoding(t, teller, 'the teller');
  await assertDecoding(t, customer, 'the customer');
  const sockets = stack.events.filter((e) => e.at.getTime() >= cut && (e.type === 'disconnect' || e.type === 'reconnect'));
  t.same(sockets, [], 'no socket was lost: the same call, not a re-join');
});

t.test('Janus restarts: both sides are told and the call resumes', async (t) => {
  const { stack, teller, customer } = await joinCall(t, await startStack(t));
  const cut = Date.now();
  await stack.stopJanus();
  await waitEvent(teller, `e.name === 'janus' && e.data === 'down' && e.at > ${cut}`);
  await waitEvent(customer, `e.name === 'janus' && e.data === 'down' && e.at > ${cut}`);
  t.pass('both parties hear Janus is down');
  await teller.evaluate("window.__client.sendChat('the chat works without Janus')");
  await waitEvent(customer, "e.name === 'chat' && e.data.text === 'the chat works without Janus'");
  t.pass('chat still works');
  await stack.startJanus();
  await waitEvent(teller, `e.name === 'janus' && e.data === 'up' && e.at > ${cut}`);
  await waitEvent(customer, `e.name === 'janus' && e.data === 'up' && e.at > ${cut}`);
  await waitEvent(customer, `e.name === 'remote-stream' && e.data === true && e.at > ${cut}`);
  await waitEvent(teller, `e.name === 'remote-stream' && e.data === true && e.at > ${cut}`);
  await assertDecoding(t, teller, 'after the restart the teller');
  await assertDecoding(t, customer, 'after the restart the customer');
  const publishes = stack.events.filter((e) => e.type === 'publish').map((e) => (e.data as { recording: string }).recording);
  t.same(publishes.sort(), ['customer-s01', 'customer-s02', 'teller-s01', 'teller-s02'], 'each party publishes a new recording segment on the new Janus');
});

t.test('hang-up: both are told, recordings are on disk for every segment', async (t) => {
  const stack = await startStack(t);
  await leaveOldTellerSegment(stack);
  const c = await joinCall(t, stack);
  // a second segment of the customer: a reconnect publishes anew
  await dropCustomerSocket(t, c);
  await assertDecoding(t, c.teller, 'the teller, after the customer reconnected');
  const { teller, customer, customerToken } = c;
  await stack.hub.endSession(SESSION, 'teller hung up');
  await waitEvent(teller, "e.name === 'ended' && e.data.reason === 'teller hung up'");
  await waitEvent(customer, "e.name === 'ended'");
  t.equal(stack.hub.describe(SESSION), null, 'the session is gone from the hub');
  const late = await RawSignalingClient.open(stack.signalingUrlFromHost(customerToken), stack.baseUrl);
  late.send({ type: 'join' });
  t.match(await late.next('ended'), { type: 'ended' }, 'a late join with the old credential is told the session ended');
  t.equal((await late.closed).code, CLOSE_CODES.ENDED, 'and closed with 4002, no new room');
  t.equal(stack.hub.describe(SESSION), null);

  const dir = join(stack.recordingRoot, SESSION);
  t.equal((await stat(dir)).mode & 0o777, 0o700, 'the recording folder is private');
  // Janus renames .mjr.tmp to .mjr when it closes a recording, shortly after the room is destroyed.
  const files = await waitFor(
    'the recordings closed',
    async () => {
      const names = await readdir(dir);
      return names.length > 0 && !names.some((f) => f.endsWith('.tmp')) && names;
    },
    10_000,
  );
  const mjr = files.filter((f) => f.endsWith('.mjr'));
  // The teller published once (after its leftover s07), the customer twice (the start and the reconnect).
  const segments = { teller: ['08'], customer: ['01', '02'] };
  for (const [party, segs] of Object.entries(segments)) {
    for (const seg of segs) {
      for (const kind of ['audio', 'video']) {
        // Janus names multistream recordings <base>-<kind>-<mid>.mjr.
        const f = mjr.find((name) => new RegExp(`^${party}-s${seg}-${kind}-\\d+\\.mjr$`).test(name));
        t.ok(f, `${party} segment ${seg} ${kind} recorded`);
        if (f) t.ok((await stat(join(dir, f))).size > 8, `${f} holds media, not just a header`);
      }
    }
  }
  t.equal(await readFile(join(dir, 'teller-s07-audio-0.mjr'), 'utf8'), 'leftover', 'the older recording is untouched');
  const { stdout } = await run('janus-pp-rec', ['-j', join(dir, mjr.find((f) => f.startsWith('customer-s01-video-')) ?? '')]);
  t.match(stdout, /"c":\s*"vp8"/, 'the video recording is VP8, readable by janus-pp-rec');
});

t.test('a session the hub meets after an appliance restart keeps its chat and its numbering', async (t) => {
  const stack = await startStack(t);
  const origin = stack.baseUrl;
  const customerAgain = await RawSignalingClient.open(stack.signalingUrlFromHost(stack.credential(RESTARTED, 'customer')), origin);
  t.match(await customerAgain.request({ type: 'join' }, 1), { type: 'joined', party: 'customer' });
  t.match(await customerAgain.next('chat'), { seq: 1, from: 'teller', text: 'before the restart' });
  t.match(await customerAgain.next('chat'), { seq: 4, from: 'customer', text: 'me too' });
  t.match(await customerAgain.request({ type: 'chat', text: 'after the restart' }, 2), { type: 'chat', seq: 7, from: 'customer' }, 'new messages number on from the stored ones');
  const tellerAgain = await RawSignalingClient.open(stack.signalingUrlFromHost(stack.credential(RESTARTED, 'teller')), origin);
  t.match(await tellerAgain.request({ type: 'join' }, 1), { type: 'joined', party: 'teller' });
  const seen = [await tellerAgain.next('chat'), await tellerAgain.next('chat'), await tellerAgain.next('chat')].map((m) => `${m.seq}:${m.text}`);
  t.same(seen, ['1:before the restart', '4:me too', '7:after the restart'], 'the teller joining later gets all of it, in order');
  customerAgain.close();
  tellerAgain.close();

  // The stored chat cannot be read (database down): the party joins all the same, chat is refused until it can.
  const late = await RawSignalingClient.open(stack.signalingUrlFromHost(stack.credential(UNREADABLE, 'customer')), origin);
  t.match(await late.request({ type: 'join' }, 1), { type: 'joined', party: 'customer' }, 'joins without the history');
  t.match(await late.request({ type: 'chat', text: 'hello?' }, 2), { type: 'error', code: SIGNALING_ERRORS.REFUSED }, 'not numbered from 1 again');
  t.match(await late.request({ type: 'chat', text: 'hello again' }, 3), { type: 'chat', seq: 10 }, 'read on the next try: numbered on');
  late.close();
});
