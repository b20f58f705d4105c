// Benchmark: N guests in one room on the official socket.io-client; the host
// flips votes at a fixed rate; every guest must receive every room:changed.
// Reports vote→delivery latency (p50/p99), deliveries/s, missed deliveries,
// server CPU per delivery and server memory per connected client.
//
// Usage: node bench.mjs [clients=500] [votes_per_second=40] [seconds=10]
// Set TEST_SERVER_BIN to a release build for meaningful numbers.
import { readFileSync } from 'node:fs';
import { api, connect, startServer } from './server.mjs';

const [clients = 500, rate = 40, seconds = 10] = process.argv.slice(2).map(Number);
const TICKS = 100; // USER_HZ on Linux

function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / TICKS;
  const rssKb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
  return { cpuSeconds, rssKb };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const server = await startServer();
const created = await api(server.url, 'POST', '/api/rooms', { name: 'Bench', host_name: 'Host' });
const code = created.body.room.code;
const host = await connect(server.url, created.body.token, { transports: ['websocket'] }).ready;
await host.ok('queue:add', { track_id: 'demo-0001' }); // starts playing
const entry = (await host.ok('queue:add', { track_id: 'demo-0002' })).entry.id;

const idle = procStats(server.pid);
const guests = [];
for (let i = 0; i < clients; i++) {
  const joined = await api(server.url, 'POST', `/api/rooms/${code}/join`, { name: `g${i}` });
  guests.push(await connect(server.url, joined.body.token, { transports: ['websocket'] }).ready);
}
await new Promise((r) => setTimeout(r, 1000));
const loaded = procStats(server.pid);

const sentAt = new Map();
const latencies = [];
let delivered = 0;
for (const g of guests) {
  g.socket.on('room:changed', (c) => {
    const t = sentAt.get(c.version);
    if (t !== undefined) {
      latencies.push(performance.now() - t);
      delivered += 1;
    }
  });
}

const clientCpu0 = process.cpuUsage();
const server0 = procStats(server.pid);
const total = Math.round(rate * seconds);
let value = 1;
const started = performance.now();
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  value = -value;
  const t = performance.now();
  const reply = await host.ok('queue:vote', { entry_id: entry, value });
  sentAt.set(reply.version, t);
}
await new Promise((r) => setTimeout(r, 2000));
const elapsed = (performance.now() - started) / 1000 - 2;
const server1 = procStats(server.pid);
const clientCpu = process.cpuUsage(clientCpu0);

latencies.sort((a, b) => a - b);
const expected = total * clients;
const result = {
  clients,
  votes_per_second: rate,
  seconds,
  deliveries_expected: expected,
  deliveries: delivered,
  missed: expected - delivered,
  deliveries_per_second: Math.round(delivered / elapsed),
  latency_ms_p50: Number(percentile(latencies, 50)?.toFixed(2)),
  latency_ms_p99: Number(percentile(latencies, 99)?.toFixed(2)),
  server_cpu_us_per_delivery: Number((((server1.cpuSeconds - server0.cpuSeconds) * 1e6) / Math.max(1, delivered)).toFixed(2)),
  server_rss_mb: Number((server1.rssKb / 1024).toFixed(1)),
  server_kb_per_client: Number(((loaded.rssKb - idle.rssKb) / clients).toFixed(1)),
  load_tool_cpu_seconds: Number(((clientCpu.user + clientCpu.system) / 1e6).toFixed(2)),
};
console.log(JSON.stringify(result, null, 2));
for (const g of [host, ...guests]) g.socket.disconnect();
await server.stop();
