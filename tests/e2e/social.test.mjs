// Photos and accounts through the official socket.io-client: a photo shared
// over HTTP reaches the room's sockets and, on the /feed namespace, the
// sharer's followers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';
import { api, connect, png, startServer } from './server.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  assert.equal(await server.stop(), 0);
});


const withToken = async (method, path, token, body) => {
  const res = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
};

const once = (socket, event, pred = () => true) =>
  new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no ${event}`)), 10_000);
    const handler = (payload) => {
      if (!pred(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      ok(payload);
    };
    socket.on(event, handler);
  });

test('a shared photo reaches the wall and the followers feed; likes carry names', async () => {
  const password = 'violet kettle 42 orbit';
  const ana = await api(server.url, 'POST', '/api/accounts', { username: 'ana', password });
  const ben = await api(server.url, 'POST', '/api/accounts', { username: 'ben', password });
  assert.deepEqual([ana.status, ben.status], [201, 201]);
  const follow = await withToken('PUT', '/api/users/ana/follow', ben.body.token);
  assert.equal(follow.body.user.followers, 1);

  const feed = io(`${server.url}/feed`, { auth: { token: ben.body.token }, reconnection: false, forceNew: true, transports: ['websocket'] });
  await once(feed, 'connect');
  const refused = io(`${server.url}/feed`, { auth: { token: 'forged' }, reconnection: false, forceNew: true });
  const error = await once(refused, 'connect_error');
  assert.equal(error.message, 'unauthorized');
  refused.close();

  // A public room: what happens in a private party reaches only followers in it.
  const listing = { public: true, city: 'Lyon' };
  const created = await api(server.url, 'POST', '/api/rooms', { name: 'Social', host_name: 'Ana', account_token: ana.body.token, listing });
  assert.equal(created.status, 201);
  const code = created.body.room.code;
  const joined = await api(server.url, 'POST', `/api/rooms/${code}/join`, { name: 'Gus' });
  const guest = await connect(server.url, joined.body.token, { transports: ['websocket'] }).ready;

  const form = new FormData();
  form.append('photo', new Blob([png(64, 48)], { type: 'image/png' }), 'party.png');
  form.append('comment', 'hello from node');
  const shared = await fetch(`${server.url}/api/rooms/${code}/photos`, {
    method: 'POST',
    headers: { authorization: `Bearer ${created.body.token}` },
    body: form,
  });
  assert.equal(shared.status, 202);
  const { photo } = await shared.json();
  const [announced, item] = await Promise.all([
    once(guest.socket, 'photo:new', (p) => p.photo.id === photo.id),
    once(feed, 'feed:new', (p) => p.item.kind === 'photo_shared'),
  ]);
  assert.equal(announced.photo.comment, 'hello from node');
  assert.equal(item.item.user.username, 'ana');
  const thumb = await fetch(server.url + announced.photo.urls.thumb);
  assert.equal(thumb.headers.get('content-type'), 'image/jpeg');

  const liked = await guest.ok('photo:like', { photo_id: photo.id });
  assert.deepEqual([liked.likes, liked.liked_by[0].name], [1, 'Gus']);
  const bad = await guest.ack('photo:like', { photo_id: 42 });
  assert.deepEqual([bad.ok, bad.error.code], [false, 'invalid_payload']);
  feed.close();
  guest.socket.close();
});
