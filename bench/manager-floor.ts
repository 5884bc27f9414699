/**
 * The floor of bench:manager (`--floor`): a Node HTTP server that answers the
 * bench's requests with no work at all (no auth, no store, no etcd), started
 * in the manager's place with the same arguments. Long-polls are held and
 * answered, when a version is written, paced like the manager's
 * (`--poll-answer-rate` 2,500 a second: 250 every 100 ms). What this server
 * measures is what the benchmark itself, the loopback and the machine cost
 * a heartbeat: no manager can do better on the same machine.
 *
 *   node bench/manager-floor.ts manager --listen 127.0.0.1:PORT [ignored flags]
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';

const SLICE = 250;
const PAUSE_MS = 100;

const listen = process.argv[process.argv.indexOf('--listen') + 1] ?? '';
const colon = listen.lastIndexOf(':');
let nextId = 1;
let version = 0;
const held = new Set<ServerResponse>();

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function answerHeld(): void {
  const body = JSON.stringify({ version });
  const waiting = [...held];
  held.clear();
  const slice = (from: number): void => {
    for (const res of waiting.slice(from, from + SLICE)) answer(res, 200, body);
    if (from + SLICE < waiting.length) setTimeout(slice, PAUSE_MS, from + SLICE);
  };
  slice(0);
}

const server = createServer({ keepAliveTimeout: 600_000, headersTimeout: 0, requestTimeout: 0 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const path = req.url ?? '';
    // A body is parsed, as the manager must (a heartbeat's stats, a registration).
    if (chunks.length > 0) JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (path === '/health' || path === '/metrics') return answer(res, 200, '{}');
    if (req.method === 'POST' && /^\/nodes\/[^/]+$/.test(path)) return answer(res, 201, JSON.stringify({ id: nextId++ }));
    if (req.method === 'PUT' && path.startsWith('/nodes/')) return answer(res, 200, '{"ok":true}');
    if (req.method === 'GET' && path.includes('/versions/')) {
      held.add(res);
      res.once('close', () => held.delete(res));
      return;
    }
    if (req.method === 'GET' && path.startsWith('/clusters/')) return answer(res, 200, JSON.stringify({ version }));
    if (req.method === 'POST' && path.includes('/versions/')) {
      version++;
      answer(res, 200, JSON.stringify({ version }));
      return answerHeld();
    }
    answer(res, 404, '{}');
  });
});
server.listen(Number(listen.slice(colon + 1)), listen.slice(0, colon));
process.on('SIGTERM', () => {
  for (const res of held) res.destroy();
  server.close();
  process.exit(0);
});
