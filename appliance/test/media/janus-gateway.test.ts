// The janode adapter against a real Janus (in a namespace of the test's own): rooms, refusals, health, and
// the reconnect schedule when Janus goes away and comes back.
import { once } from 'node:events';
import t from 'tap';
import { JanusGateway, JanusRequestError, VIDEOROOM_ERROR } from '../../src/media/janus-gateway.js';
import { probeJanus } from '../../src/media/janus-process.js';
import { startTestJanus } from '../harness/janus.js';
import { createNetns } from '../harness/netns.js';

const SDP_WITHOUT_CODECS = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 127',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:0123456789abcdefghijkl',
  'a=fingerprint:sha-256 AB:CD',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendonly',
  '',
].join('\r\n');

t.test('rooms, refusals, health and reconnection', async (t) => {
  const ns = await createNetns(t);
  const janus = await startTestJanus(ns);
  t.teardown(() => janus.stop());
  const gateway = new JanusGateway({ url: janus.url, roomAdminKey: janus.roomAdminKey, reconnectDelaysMs: [50, 100] });
  t.teardown(() => gateway.stop());
  t.equal(gateway.state, 'idle');
  t.same(await gateway.health(), { status: 'down', detail: 'idle' }, 'down before start');
  gateway.start();
  await gateway.whenUp();
  t.match(await gateway.health(), { status: 'up', detail: 'janus 1.1.2' });

  const room = { room: 424242, secret: 'secret-0123456789abcdef', pin: 'pin-0123456789abcdef', recDir: `${ns.dir}/rec` };
  await gateway.createRoom(room);
  await gateway.createRoom(room);
  t.pass('a room left over with the same id is replaced');

  const wrongKey = new JanusGateway({ url: janus.url, roomAdminKey: 'not-the-key-0123456789' });
  t.teardown(() => wrongKey.stop());
  wrongKey.start();
  await wrongKey.whenUp();
  await t.rejects(wrongKey.createRoom({ ...room, room: 7 }), JanusRequestError, 'rooms need the admin key');

  const err = await gateway.publish({ room: room.room, pin: 'wrong-pin', display: 'teller', offer: { type: 'offer', sdp: SDP_WITHOUT_CODECS } }).catch((e: unknown) => e);
  t.type(err, JanusRequestError, 'a wrong pin is refused');
  t.equal((err as JanusRequestError).code, 433, 'with VideoRoom\'s "unauthorized"');
  const err2 = await gateway.publish({ room: 999, pin: room.pin, display: 'teller', offer: { type: 'offer', sdp: SDP_WITHOUT_CODECS } }).catch((e: unknown) => e);
  t.equal((err2 as JanusRequestError).code, VIDEOROOM_ERROR.NO_SUCH_ROOM, 'an unknown room is refused');
  const err3 = await gateway.subscribe({ room: room.room, pin: room.pin, feed: 12345, privateId: 1 }).catch((e: unknown) => e);
  t.equal((err3 as JanusRequestError).code, VIDEOROOM_ERROR.NO_SUCH_FEED, 'subscribing to no feed is refused');

  await gateway.destroyRoom(room.room, room.secret);
  await gateway.destroyRoom(room.room, room.secret);
  t.pass('destroying twice is harmless');

  const down = once(gateway, 'down');
  await janus.stop();
  await down;
  t.equal(gateway.state, 'down', "'down' when Janus goes away");
  t.equal((await gateway.health()).status, 'down');
  await t.rejects(gateway.createRoom({ ...room, room: 8 }), /not connected/, 'requests fail fast while down');

  const up = once(gateway, 'up');
  await janus.start();
  await up;
  t.equal(gateway.state, 'up', "'up' again once Janus is back, without anyone asking");
  await gateway.createRoom({ ...room, room: 9 });
  t.pass('and it works');

  await gateway.stop();
  t.equal(gateway.state, 'stopped');
  t.match(await probeJanus(janus.url), { version: 1102 }, 'stopping the gateway leaves Janus alone');
});
