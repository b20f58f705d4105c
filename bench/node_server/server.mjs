// The Node.js baseline for the load benchmark: a bare socket.io 4 server on
// Node's http module, speaking the same part of crowdjuke's contract as
// examples/bare_server.rs (create and join over REST, token auth,
// `queue:add`, `queue:vote`, `room:snapshot`, and a `room:changed` of the same
// size as crowdjuke's for a vote). socket.io runs on its defaults; like the
// Rust baseline it keeps no members and writes nothing to disk.
// Run it with `scripts/bench node …`, or:
//   npm ci && node server.mjs --listen 127.0.0.1:8080
import http from "node:http";
import { Server } from "socket.io";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const [host, port] = arg("--listen", "127.0.0.1:8080").split(":");

const rooms = new Map(); // code → version
let next = 1;

const changed = (version) => ({
  version,
  server_time: 1796301616581,
  changes: [{ type: "entry_updated", entry: {
    id: "Umf0b3QvHwwOIl9L",
    track: { id: "demo-0102", title: "So Alive", artists: ["Lena Valence"],
             album: "Fire of the Radio", duration_ms: 346103, explicit: false },
    score: version % 2, added_by: "vny6nvM0U3gIYMNt", added_by_name: "Host",
    added_at: 1796301616581, pinned: false } }],
  order: ["CeTZEBQ6V9e9Fpda", "a0I0Kkvcxs9yQ3Eu", "e4PkOkIGqAaerPCJ", "Umf0b3QvHwwOIl9L"],
});

const json = (res, body) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/api/rooms") {
    const code = `R${next++}`;
    rooms.set(code, 0);
    return json(res, { token: `${code}.0`, room: { code } });
  }
  const join = req.method === "POST" && req.url.match(/^\/api\/rooms\/([^/]+)\/join$/);
  if (join) {
    const code = decodeURIComponent(join[1]);
    return json(res, { token: rooms.has(code) ? `${code}.${next++}` : null });
  }
  res.writeHead(404).end();
});

const io = new Server(server);
io.on("connection", (socket) => {
  const token = typeof socket.handshake.auth?.token === "string" ? socket.handshake.auth.token : "";
  const code = token.split(".")[0];
  if (!rooms.has(code)) return socket.disconnect(true);
  socket.join(code);
  socket.emit("room:snapshot", { version: rooms.get(code) });
  const bump = () => {
    const version = rooms.get(code) + 1;
    rooms.set(code, version);
    io.to(code).emit("room:changed", changed(version));
    return version;
  };
  socket.on("queue:add", (_payload, ack) => {
    const version = bump();
    if (typeof ack === "function") ack({ ok: true, data: { version, entry: { id: "Umf0b3QvHwwOIl9L" } } });
  });
  socket.on("queue:vote", (_payload, ack) => {
    const version = bump();
    if (typeof ack === "function") ack({ ok: true, data: { version } });
  });
});

server.listen(Number(port), host, () => console.log(`listening on http://${host}:${port}`));
