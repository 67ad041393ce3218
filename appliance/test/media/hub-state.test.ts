// The signaling hub's state machine without root, Janus or a browser: the hub drives a scripted media server
// (the MediaRooms interface) and fake sockets, and each test asserts the parties' states, the frames each side
// is sent, the events reported to the app and the rooms and handles asked of the media server.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { recordingBaseName, SignalingHub, type SignalingEvent, type SignalingHubOptions } from '../../src/media/signaling-hub.js';
import { VIDEOROOM_ERROR } from '../../src/media/media-rooms.js';
import { CLOSE_CODES, SIGNALING_ERRORS, type Party } from '../../src/media/protocol.js';
import { FakeMediaRooms, FakeSocket, type FakePublisher } from '../harness/fake-media.js';
import { OFFER } from '../harness/sdp.js';

const SESSION = 'session-1';

interface Rig {
  hub: SignalingHub;
  rooms: FakeMediaRooms;
  events: SignalingEvent[];
  abandoned: string[];
  /** a new socket of the party, attached to the hub (not joined yet) */
  socket(party: Party): FakeSocket;
  /** a new socket of the party that has joined; resolves once `joined` arrived */
  joined(party: Party): Promise<FakeSocket>;
  /** the event types reported so far, as `party:type` */
  eventTypes(): string[];
}

function rig(t: Test, opts: Partial<SignalingHubOptions> = {}): Rig {
  const rooms = new FakeMediaRooms();
  const events: SignalingEvent[] = [];
  const abandoned: string[] = [];
  const spool = mkdtempSync(join(tmpdir(), 'kyc-hub-state-'));
  const hub = new SignalingHub({
    gateway: rooms,
    recordingDir: (id) => join(spool, id),
    onEvent: async (e) => {
      events.push(e);
    },
    onAbandoned: async (id) => {
      abandoned.push(id);
    },
    ...opts,
  });
  t.teardown(() => hub.shutdown());
  const socket = (party: Party) => {
    const ws = new FakeSocket();
    hub.attach(ws.asWebSocket(), { sessionId: SESSION, party, actor: { kind: party } });
    return ws;
  };
  return {
    hub,
    rooms,
    events,
    abandoned,
    socket,
    joined: async (party) => {
      const ws = socket(party);
      ws.deliver({ type: 'join', rid: 1 });
      await ws.next('joined');
      return ws;
    },
    eventTypes: () => events.map((e) => `${e.party}:${e.type}`),
  };
}

/** The party publishes and the media server reports its media up; resolves with its publisher handle. */
async function publishUp(r: Rig, ws: FakeSocket, n = 1): Promise<FakePublisher> {
  ws.deliver({ type: 'publish', rid: 10 + n, jsep: { type: 'offer', sdp: OFFER }, audio: true, video: true });
  await ws.next('published', n);
  const publisher = r.rooms.publishers.at(-1)!;
  publisher.emit('webrtcup');
  return publisher;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('a party joins: its room is created and it is told who else is there', async (t) => {
  const r = rig(t, { iceServers: [{ urls: 'turn:turn.example:3478' }] });
  const teller = await r.joined('teller');
  const joined = await teller.next('joined');
  t.same(joined, {
    type: 'joined',
    rid: 1,
    party: 'teller',
    peer: { party: 'customer', state: 'absent' },
    janus: 'up',
    iceServers: [{ urls: 'turn:turn.example:3478' }],
    reconnected: false,
  });
  const room = r.hub.describe(SESSION)!;
  t.ok(room.roomReady, 'the room is ready');
  t.ok(r.rooms.rooms.has(room.roomId), 'the media server has the room');
  t.equal(r.rooms.rooms.get(room.roomId)!.record, true, 'which records');
  t.same(room.parties.teller, { state: 'joined', connected: true, publishing: false, segment: 0 });
  t.same(room.parties.customer, { state: 'absent', connected: false, publishing: false, segment: 0 });
  t.same(r.eventTypes(), ['teller:join']);
  t.same(r.events[0]!.data, { previous: 'absent' });

  teller.deliver({ type: 'join', rid: 2 });
  t.equal((await teller.next('error')).code, SIGNALING_ERRORS.WRONG_STATE, 'a second join on one socket is refused');
});

t.test('a message before join is refused; a join the app cannot record is refused and changes nothing', async (t) => {
  let refuse = true;
  const r = rig(t, {
    onEvent: async (e) => {
      if (refuse) throw new Error('audit log unavailable');
      r.events.push(e);
    },
  });
  const teller = r.socket('teller');
  teller.deliver({ type: 'chat', rid: 3, text: 'hello' });
  t.same(await teller.next('error'), { type: 'error', rid: 3, code: SIGNALING_ERRORS.WRONG_STATE, message: 'join first' });
  teller.deliver({ type: 'join', rid: 4 });
  const refused = await teller.next('error', 2);
  t.equal(refused.code, SIGNALING_ERRORS.REFUSED);
  t.equal(refused.rid, 4);
  t.equal(r.hub.describe(SESSION)!.parties.teller.state, 'absent', 'the teller has not joined');
  refuse = false;
  teller.deliver({ type: 'join', rid: 5 });
  t.equal((await teller.next('joined')).reconnected, false, 'a join that could be recorded counts as the first');
});

t.test("both parties: each sees the other join, publish and receive the other's media", async (t) => {
  const r = rig(t);
  const teller = await r.joined('teller');
  const customer = await r.joined('customer');
  t.same((await customer.next('joined')).peer, { party: 'teller', state: 'joined' });
  t.same(await teller.next('peer-state'), { type: 'peer-state', party: 'customer', state: 'joined' });

  const publisher = await publishUp(r, teller);
  t.equal(publisher.params.filename, recordingBaseName('teller', 1), 'the first segment of the teller');
  t.equal(publisher.params.display, 'teller');
  t.same(await customer.next('peer-state'), { type: 'peer-state', party: 'teller', state: 'media-up' });
  const offer = await customer.next('remote-offer');
  t.match(offer, { subscription: 's1', party: 'teller', restart: false, jsep: { type: 'offer' } });
  t.equal(r.rooms.subscribers[0]!.params.feed, publisher.feed, "the customer subscribes to the teller's feed");
  customer.deliver({ type: 'answer', subscription: 's1', jsep: { type: 'answer', sdp: OFFER } });
  customer.deliver({ type: 'trickle', pc: 's1', candidate: null });
  teller.deliver({ type: 'trickle', pc: 'publisher', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
  teller.deliver({ type: 'ping', rid: 7 });
  await teller.next('pong');
  customer.deliver({ type: 'ping', rid: 8 });
  await customer.next('pong');
  t.equal(r.rooms.subscribers[0]!.answers.length, 1, 'the answer reached the subscription');
  t.same(r.rooms.subscribers[0]!.trickled, [null], "the customer's candidates reached its subscription");
  t.equal(publisher.trickled.length, 1, "the teller's candidates reached its publisher");
  t.equal(r.hub.publishersUp(), 1);
  t.same(r.hub.describe(SESSION)!.parties.teller, { state: 'media-up', connected: true, publishing: true, segment: 1 });
  t.same(r.eventTypes(), ['teller:join', 'customer:join', 'teller:publish', 'teller:media-up']);
  t.match(r.events[2]!.data, { segment: 1, recording: recordingBaseName('teller', 1), audio: true, video: true });
  t.equal(r.hub.handleRole(publisher.id)?.direction, 'up');
  t.same(r.hub.handleRole(r.rooms.subscribers[0]!.id), { party: 'customer', direction: 'down', sessionId: SESSION });

  // A party that joins after the other's media is up is offered it at once.
  const customer2 = await r.joined('customer');
  t.equal(await customer.closed(), CLOSE_CODES.REPLACED, 'the older socket of the customer is replaced');
  t.equal((await customer2.next('remote-offer')).party, 'teller');
  t.equal((await customer2.next('joined')).reconnected, true);

  customer2.deliver({ type: 'chat', rid: 9, text: 'hello' });
  t.match(await customer2.next('chat'), { rid: 9, seq: 1, from: 'customer', text: 'hello' });
  const relayed = await teller.next('chat');
  t.equal(relayed.rid, undefined, "the other party's copy has no rid");
  customer2.deliver({ type: 'media-state', audio: true, video: false, screen: true });
  t.same(await teller.next('media-state'), { type: 'media-state', party: 'customer', audio: true, video: false, screen: true });
  t.equal(r.events.at(-1)!.type, 'screen-share-start');
});

t.test('leaving: the other party is told, and when nobody is left the room goes and the app ends the session', async (t) => {
  const r = rig(t);
  const teller = await r.joined('teller');
  const customer = await r.joined('customer');
  const { roomId } = r.hub.describe(SESSION)!;
  customer.deliver({ type: 'leave' });
  t.equal(await customer.closed(), CLOSE_CODES.NORMAL);
  t.same(teller.all('peer-state').at(-1), { type: 'peer-state', party: 'customer', state: 'left' });
  t.same(r.abandoned, [], 'the teller is still there');
  teller.deliver({ type: 'leave' });
  t.equal(await teller.closed(), CLOSE_CODES.NORMAL);
  await tick();
  t.same(r.abandoned, [SESSION], 'the app is asked to end the session');
  t.same(r.rooms.destroyed, [roomId], 'the room is destroyed');
  t.equal(r.hub.describe(SESSION), null, 'the hub has forgotten the session');
  t.same(r.eventTypes(), ['teller:join', 'customer:join', 'customer:leave', 'teller:leave']);
});

t.test('a dropped socket: reconnecting, then back within the grace; or left once the grace is over', async (t) => {
  const r = rig(t, { reconnectGraceMs: 200 });
  const teller = await r.joined('teller');
  const customer = await r.joined('customer');
  const publisher = await publishUp(r, customer);
  await teller.next('remote-offer');

  customer.drop();
  t.same(await teller.next('remote-ended'), { type: 'remote-ended', subscription: 's1' }, "the teller's subscription ends");
  t.same(teller.all('peer-state').at(-1), { type: 'peer-state', party: 'customer', state: 'reconnecting' });
  t.ok(publisher.detached, "the customer's publisher is released");
  t.same(r.hub.describe(SESSION)!.parties.customer, { state: 'reconnecting', connected: false, publishing: false, segment: 1 });

  const back = r.socket('customer');
  back.deliver({ type: 'join', rid: 2 });
  const joined = await back.next('joined');
  t.equal(joined.reconnected, true);
  t.same(joined.peer, { party: 'teller', state: 'joined' });
  t.same(teller.all('peer-state').at(-1), { type: 'peer-state', party: 'customer', state: 'joined' });
  const again = await publishUp(r, back, 1);
  t.equal(again.params.filename, recordingBaseName('customer', 2), 'a new publish is a new segment');
  await teller.next('remote-offer', 2);

  const peerStates = teller.all('peer-state').length;
  back.drop();
  await teller.next('remote-ended', 2);
  // the grace is a real timer of the hub (200 ms here): the teller is told once it runs out
  t.same(await teller.next('peer-state', peerStates + 1), { type: 'peer-state', party: 'customer', state: 'reconnecting' });
  t.same(await teller.next('peer-state', peerStates + 2), { type: 'peer-state', party: 'customer', state: 'left' }, 'after the grace the customer has left');
  t.same(r.eventTypes(), [
    'teller:join',
    'customer:join',
    'customer:publish',
    'customer:media-up',
    'customer:disconnect',
    'customer:reconnect',
    'customer:publish',
    'customer:media-up',
    'customer:disconnect',
    'customer:timeout',
  ]);
  t.same(r.abandoned, [], 'the teller is still in the session');
});

t.test('hang-up: both parties are told, sockets close as ended, the room goes, and nobody gets back in', async (t) => {
  const r = rig(t);
  const teller = await r.joined('teller');
  const customer = await r.joined('customer');
  await publishUp(r, teller);
  const { roomId } = r.hub.describe(SESSION)!;
  await r.hub.endSession(SESSION, 'the teller ended the call');
  for (const ws of [teller, customer]) {
    t.same(await ws.next('ended'), { type: 'ended', reason: 'the teller ended the call' });
    t.equal(await ws.closed(), CLOSE_CODES.ENDED);
  }
  t.same(r.rooms.destroyed, [roomId]);
  t.ok(r.rooms.publishers[0]!.detached, 'the publisher is released');
  t.equal(r.hub.publishersUp(), 0);
  await tick();
  t.same(r.abandoned, [], 'a hung-up session is not reported as abandoned');
  t.notOk(r.eventTypes().includes('teller:disconnect'), 'closing the sockets is not a disconnect');

  const late = r.socket('customer');
  late.deliver({ type: 'join' });
  t.same(await late.next('ended'), { type: 'ended', reason: 'the session has ended' });
  t.equal(await late.closed(), CLOSE_CODES.ENDED);
  t.equal(r.hub.describe(SESSION), null, 'no room is opened again');
  t.equal(r.rooms.rooms.size, 0);
});

t.test('media failures: refused publish, the media server down and back, lost and hung-up media', async (t) => {
  const r = rig(t);
  const teller = await r.joined('teller');
  const customer = await r.joined('customer');

  r.rooms.fail('publish', 437, '437 invalid sdp');
  teller.deliver({ type: 'publish', rid: 20, jsep: { type: 'offer', sdp: OFFER }, audio: true, video: true });
  t.same(await teller.next('error'), { type: 'error', rid: 20, code: SIGNALING_ERRORS.MEDIA_FAILED, message: 'the media server refused the publish' });

  // the refused publish took segment 1 (the media server may have begun writing it): the next one is 2
  const publisher = await publishUp(r, teller);
  t.equal(publisher.params.filename, recordingBaseName('teller', 2));
  await customer.next('remote-offer');
  // the media server stops receiving the teller's audio: the customer sees "reconnecting", then media again
  publisher.emit('media', { type: 'audio', receiving: false });
  t.same(customer.all('peer-state').at(-1), { type: 'peer-state', party: 'teller', state: 'reconnecting' });
  publisher.emit('media', { type: 'video', receiving: false });
  t.same(customer.all('peer-state').at(-1), { type: 'peer-state', party: 'teller', state: 'reconnecting' }, 'video alone changes nothing');
  publisher.emit('media', { type: 'audio', receiving: true });
  t.same(customer.all('peer-state').at(-1), { type: 'peer-state', party: 'teller', state: 'media-up' });
  publisher.emit('slowlink', { uplink: true, lost: 12, media: 'video' });
  t.same(teller.all('network'), [{ type: 'network', pc: 'publisher', uplink: true, lost: 12 }]);

  // the media server hangs the teller's peer connection up: its subscription ends, the teller is joined again
  publisher.emit('hangup', 'DTLS alert');
  t.same(await customer.next('remote-ended'), { type: 'remote-ended', subscription: 's1' });
  t.same(customer.all('peer-state').at(-1), { type: 'peer-state', party: 'teller', state: 'joined' });
  t.equal(r.hub.publishersUp(), 0);

  // the media server goes away and comes back
  await publishUp(r, teller, 2);
  await customer.next('remote-offer', 2);
  const { roomId } = r.hub.describe(SESSION)!;
  r.rooms.goDown();
  t.same(teller.all('janus-state'), [{ type: 'janus-state', state: 'down' }]);
  t.same(customer.all('janus-state'), [{ type: 'janus-state', state: 'down' }]);
  t.same(r.hub.describe(SESSION)!.parties.teller, { state: 'joined', connected: true, publishing: false, segment: 3 });
  t.notOk(r.hub.describe(SESSION)!.roomReady);
  teller.deliver({ type: 'publish', rid: 30, jsep: { type: 'offer', sdp: OFFER }, audio: true, video: true });
  t.same(await teller.next('error', 2), { type: 'error', rid: 30, code: SIGNALING_ERRORS.MEDIA_UNAVAILABLE, message: 'the media server is unavailable' });
  customer.deliver({ type: 'chat', rid: 31, text: 'still here' });
  t.equal((await teller.next('chat')).text, 'still here', 'chat goes on without media');

  r.rooms.goUp();
  await teller.next('janus-state', 2);
  t.same(customer.all('janus-state').at(-1), { type: 'janus-state', state: 'up' });
  t.ok(r.rooms.rooms.has(roomId), 'the room is created again');
  t.ok(r.hub.describe(SESSION)!.roomReady);
  const third = await publishUp(r, teller, 3);
  t.equal(third.params.filename, recordingBaseName('teller', 4), 'publishing again after the media server came back');

  // a feed that vanished while being subscribed: no error for the viewer, the next media up offers it again
  r.rooms.fail('subscribe', VIDEOROOM_ERROR.NO_SUCH_FEED);
  customer.deliver({ type: 'subscribe', rid: 40 });
  t.equal((await customer.next('error')).rid, 40, 'an asked-for subscription that fails is answered with an error');
});

t.test('the call mode steps are sent to both parties, recorded, and told to a party that joins later', async (t) => {
  const r = rig(t);
  const teller = await r.joined('teller');
  t.equal(r.hub.setCallMode(SESSION, 'audio', 'loss', { lossPct: 12 }), true);
  t.equal(r.hub.setCallMode(SESSION, 'audio', 'loss'), false, 'the same mode again is no step');
  t.same(teller.all('call-mode'), [{ type: 'call-mode', mode: 'audio', reason: 'loss' }]);
  t.same(r.events.at(-1)!.party, 'system');
  t.same(r.events.at(-1)!.data, { from: 'video', to: 'audio', reason: 'loss', lossPct: 12 });
  const customer = await r.joined('customer');
  t.same(await customer.next('call-mode'), { type: 'call-mode', mode: 'audio', reason: 'loss' });
  t.equal(r.hub.notify(SESSION, 'customer', { type: 'kyc-update', what: 'face' }), true);
  t.same(customer.all('kyc-update'), [{ type: 'kyc-update', what: 'face' }]);
  customer.deliver({ type: 'leave' });
  await customer.closed();
  t.equal(r.hub.notify(SESSION, 'customer', { type: 'kyc-update', what: 'face' }), false, 'a party without a socket is not notified');
});
