// A host and three guests, each on the official socket.io-client, play a party.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, connect, startServer } from './server.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, 'SIGTERM stops the server cleanly');
});

/** The parts of a snapshot every member must agree on. */
const shared = (snap) => ({
  version: snap.version,
  queue: snap.queue.map(({ my_vote, ...entry }) => entry),
  now_playing: snap.now_playing && { entry_id: snap.now_playing.entry_id, track: snap.now_playing.track },
  members: snap.members.map(({ id, name, role }) => ({ id, name, role })),
});

test('host and three guests add, vote, reorder, skip, reconnect and end with the same snapshot', async () => {
  const created = await api(server.url, 'POST', '/api/rooms', { name: 'E2E party', host_name: 'Hosty' });
  assert.equal(created.status, 201);
  const code = created.body.room.code;
  const host = await connect(server.url, created.body.token, { transports: ['websocket'] }).ready;

  const guests = [];
  for (const [i, name] of ['Ann', 'Bob', 'Cat'].entries()) {
    const joined = await api(server.url, 'POST', `/api/rooms/${code}/join`, { name });
    assert.equal(joined.status, 200);
    // One guest uses the default transport (HTTP long-polling, then upgrade).
    const opts = i === 1 ? {} : { transports: ['websocket'] };
    guests.push({ token: joined.body.token, id: joined.body.member.id, opts, client: await connect(server.url, joined.body.token, opts).ready });
  }
  const [ann, bob, cat] = guests.map((g) => g.client);

  // The first track starts playing; the next three queue up.
  await ann.ok('queue:add', { track_id: 'demo-0001' });
  const e2 = (await ann.ok('queue:add', { track_id: 'demo-0002' })).entry.id;
  const e3 = (await bob.ok('queue:add', { track_id: 'demo-0003' })).entry.id;
  const e4 = (await cat.ok('queue:add', { track_id: 'demo-0004' })).entry.id;

  // Votes reorder the queue: e4 up twice, e2 down once.
  await ann.ok('queue:vote', { entry_id: e4, value: 1 });
  await bob.ok('queue:vote', { entry_id: e4, value: 1 });
  const dup = await host.ok('queue:add', { track_id: 'demo-0003' });
  assert.equal(dup.duplicate, true, 'adding a queued track is an up-vote');
  let last = await cat.ok('queue:vote', { entry_id: e2, value: -1 });
  await Promise.all([host, ann, bob, cat].map((c) => c.waitVersion(last.version)));
  const order = (await host.ok('room:sync', {})).queue.map((e) => e.id);
  assert.deepEqual(order, [e4, e3, e2]);

  // A guest may not skip; the host may.
  const refused = await bob.ack('player:skip', {});
  assert.deepEqual([refused.ok, refused.error.code], [false, 'forbidden']);
  last = await host.ok('player:skip', {});
  await Promise.all([host, ann, bob, cat].map((c) => c.waitVersion(last.version)));
  assert.equal((await cat.ok('room:sync', {})).now_playing.entry_id, e4, 'the top-voted entry plays next');

  // Bob drops off the Wi-Fi; the party goes on; he comes back with his token.
  bob.socket.disconnect();
  await host.ok('queue:vote', { entry_id: e2, value: 1 });
  last = await ann.ok('queue:add', { track_id: 'demo-0005' });
  const back = await connect(server.url, guests[1].token, guests[1].opts).ready;
  assert.equal(back.snapshot.me.id, guests[1].id, 'same identity after reconnecting');
  assert.equal(back.snapshot.version, last.version, 'the snapshot carries everything missed');
  assert.equal(back.snapshot.queue.find((e) => e.id === e4), undefined, 'e4 left the queue to play');
  assert.equal(back.snapshot.now_playing.entry_id, e4);

  // Everybody converges on the same snapshot and version.
  last = await back.ok('queue:vote', { entry_id: e3, value: 1 });
  const everyone = [host, ann, back, cat];
  await Promise.all(everyone.map((c) => c.waitVersion(last.version)));
  const snaps = await Promise.all(everyone.map((c) => c.ok('room:sync', {})));
  for (const snap of snaps) assert.deepEqual(shared(snap), shared(snaps[0]));
  assert.equal(snaps[0].version, last.version);
  for (const c of [host, ann, cat]) {
    const seen = c.versionsSeen;
    assert.deepEqual(seen, [...new Set(seen)].sort((a, b) => a - b), 'each version once, in order');
  }
  for (const c of everyone) c.socket.disconnect();
});

test('a bad token is refused with connect_error "unauthorized"', async () => {
  const client = connect(server.url, 'not-a-token', { transports: ['websocket'] });
  await assert.rejects(client.ready, (err) => err.message === 'unauthorized');
  client.socket.disconnect();
});

test('bad input gets typed error acks and unknown events are reported', async () => {
  const created = await api(server.url, 'POST', '/api/rooms', { name: 'Bad input', host_name: 'H' });
  const host = await connect(server.url, created.body.token, { transports: ['websocket'] }).ready;
  const cases = [
    ['queue:add', { track_id: 12 }, 'invalid_payload'],
    ['queue:add', {}, 'invalid_payload'],
    ['queue:vote', { entry_id: 'x', value: 5 }, 'invalid_vote'],
    ['queue:vote', { entry_id: 'x', value: 1 }, 'entry_not_found'],
    ['queue:add', { track_id: 'x'.repeat(20_000) }, 'payload_too_large'],
    ['dance:now', {}, 'unknown_event'],
  ];
  for (const [event, data, code] of cases) {
    const reply = await host.ack(event, data);
    assert.equal(reply.ok, false, event);
    assert.equal(reply.error.code, code, `${event} ${JSON.stringify(data).slice(0, 40)}`);
    assert.equal(typeof reply.error.message, 'string');
  }
  const snap = await host.ok('room:sync', {});
  assert.equal(snap.version, 1, 'nothing changed');
  host.socket.disconnect();
});

test('REST errors carry a code and a message', async () => {
  const missing = await api(server.url, 'POST', '/api/rooms/ZZZZZZ/join', { name: 'Nobody' });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'room_not_found');
  const bad = await api(server.url, 'POST', '/api/rooms', { name: 3 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_payload');
});
