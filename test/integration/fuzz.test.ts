// Seeded fuzzing of every HTTP surface of a cluster of real processes (a
// manager, two influxd, two agents): mutated writes and queries to both
// proxies, the same to agent 1's peer API (right, wrong and missing peer
// token), mutated registrations, heartbeats and cluster documents to the
// manager. Every answer must come within a deadline, be a status, and be a
// JSON `{"error": ...}` when it is an error; afterwards every process still
// runs and answers, the data written before is intact, and memory is bounded.
//
// CFLUX_FUZZ_SEED (default below) and CFLUX_FUZZ_COUNT (requests per
// surface) choose the run; CFLUX_FUZZ_ONLY=<surface>:<index> replays one
// request of that run (a failure prints both). `npm run fuzz` runs a long one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ownersOf } from '../../src/cluster/placement.ts';
import { TEST_PEER_TOKEN } from '../helpers/agent-process.ts';
import { influxQuery, startClusterFixture, type ClusterFixture } from '../helpers/cluster-fixture.ts';
import { TEST_MANAGER_TOKEN } from '../helpers/manager-process.ts';
import { Prng, clusterDocument, jsonBody, oddSegment, queryRequest, registrationBody, seedFor, writeRequest, type FuzzRequest } from '../helpers/fuzz-inputs.ts';

const SEED = Number(process.env['CFLUX_FUZZ_SEED'] ?? 20_240_611);
const COUNT = Number(process.env['CFLUX_FUZZ_COUNT'] ?? 300);
const ONLY = process.env['CFLUX_FUZZ_ONLY'];
const IN_FLIGHT = 4;
/** An answer later than this is a hang (long-polls are generated with ?timeout= of at most 2 s). */
const DEADLINE_MS = 15_000;
const RSS_LIMIT_MIB = 600;
/** Checked afterwards; fuzzed statements that could change data never name it (see shieldDatabase). */
const PROTECTED_DB = 'fuzzdb';
const POINTS_PER_MEASUREMENT = 250;
/** Databases the fuzzed writes and queries use: the protected one, RF 1 (split by measurement), RF 2, and one fuzzed DDL plays with. */
const DATABASES = [PROTECTED_DB, 'fz_r1', 'fz_r2', 'fz_d0'];
/** Scratch clusters: manager writes with a valid token go there, never to the fixture's own cluster. */
const SCRATCH_CLUSTERS = ['fz-a', 'fz-b'];
const SURFACES = ['proxy-0', 'proxy-1', 'peer-1', 'manager'] as const;
type Surface = (typeof SURFACES)[number];

assert.ok(Number.isSafeInteger(SEED) && Number.isSafeInteger(COUNT) && COUNT > 0, 'CFLUX_FUZZ_SEED and CFLUX_FUZZ_COUNT must be integers');

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

// ---------------------------------------------------------------- requests per surface

function proxyRequest(rng: Prng): FuzzRequest {
  return rng.weighted([
    [50, () => writeRequest(rng, { path: '/write', databases: DATABASES })],
    [46, () => queryRequest(rng, { path: '/query', databases: DATABASES, protectedDb: PROTECTED_DB })],
    [4, (): FuzzRequest => {
      const [method, path] = rng.pick([['GET', '/ping'], ['HEAD', '/ping'], ['GET', '/ping?verbose=true'], ['GET', '/health'], ['GET', '/query'], ['POST', '/query']] as const);
      return { method, path, headers: {}, body: method === 'POST' ? Buffer.alloc(0) : undefined, acceptsNonJson: false };
    }],
  ] as const)();
}

function peerRequest(rng: Prng): FuzzRequest {
  const request = rng.weighted([
    [45, () => writeRequest(rng, { path: '/peer/v1/write', databases: DATABASES })],
    [45, () => queryRequest(rng, { path: '/peer/v1/query', databases: DATABASES, protectedDb: PROTECTED_DB, postOnly: true })],
    [10, (): FuzzRequest => ({
      method: rng.pick(['GET', 'POST', 'PUT', 'DELETE']),
      path: rng.pick(['/healthz', '/readyz', '/metrics', '/peer/v1/write', '/peer/v1/query', '/peer/v2/write', '/', '/peer/v1/write/../query', '/peer//v1/query', `/peer/v1/${'x'.repeat(3000)}`]),
      headers: {},
      body: rng.chance(0.5) ? Buffer.from('m v=1') : undefined,
      acceptsNonJson: false,
    })],
  ] as const)();
  const auth = rng.weighted([[80, `Bearer ${TEST_PEER_TOKEN}`], [6, 'Bearer wrong-token'], [6, ''], [4, `Basic ${Buffer.from(`x:${TEST_PEER_TOKEN}`).toString('base64')}`], [4, rng.pick(['Bearer', 'Basic !!!', `Bearer ${'t'.repeat(8000)}`])]] as const);
  if (auth !== '') request.headers['authorization'] = auth;
  if (rng.chance(0.1)) request.headers['x-cflux-client-authorization'] = rng.pick(['Basic ZnpfdTpwdw==', 'Bearer x', '', 'garbage', 'Basic !!!']);
  return request;
}

function managerRequest(rng: Prng): FuzzRequest {
  const auth = rng.weighted([[80, 'bearer'], [5, 'basic'], [5, 'none'], [5, 'wrong'], [5, 'malformed']] as const);
  const headers: Record<string, string> = {};
  // Schemes are case-insensitive: `bearer` is as valid as `Bearer`.
  if (auth === 'bearer') headers['authorization'] = rng.chance(0.95) ? `Bearer ${TEST_MANAGER_TOKEN}` : `${rng.pick(['bearer', 'BEARER'])} ${TEST_MANAGER_TOKEN} `;
  if (auth === 'basic') headers['authorization'] = `Basic ${Buffer.from(`anyone:${TEST_MANAGER_TOKEN}`).toString('base64')}`;
  if (auth === 'wrong') headers['authorization'] = `Bearer ${TEST_MANAGER_TOKEN}x`;
  if (auth === 'malformed') headers['authorization'] = rng.pick(['Bearer', 'Basic', 'Basic !!!', `Bearer ${'t'.repeat(8000)}`, 'Digest x=1', `Bearer${TEST_MANAGER_TOKEN}`, `Token ${TEST_MANAGER_TOKEN}`]);
  const authorized = auth === 'bearer' || auth === 'basic';
  // With a valid token a write would really change the fixture's cluster (its members, its document): those go to scratch clusters.
  const cluster = (writes: boolean) => oddSegment(rng, writes && authorized ? rng.pick(SCRATCH_CLUSTERS) : rng.pick([...SCRATCH_CLUSTERS, 'fixture']));
  const id = () => oddSegment(rng, String(rng.int(1, 12)));
  if (rng.chance(0.1)) headers['x-cflux-node-key'] = rng.pick(['', 'x', 'k'.repeat(300)]);
  if (rng.chance(0.2)) headers['content-type'] = rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', '']);
  const request = (method: string, path: string, body?: Buffer): FuzzRequest => ({ method, path, headers, body, acceptsNonJson: false });
  return rng.weighted([
    [20, () => request('POST', `/nodes/${cluster(true)}`, jsonBody(rng, registrationBody(rng)))],
    [10, () => request('PUT', `/nodes/${cluster(true)}/${id()}`, rng.chance(0.2) ? undefined : jsonBody(rng, { name: `fz-node-${rng.int(0, 5)}`, stats: { cpu: rng.int(0, 100) } }))],
    [7, () => request('DELETE', `/nodes/${cluster(true)}/${id()}`)],
    [20, () => request('POST', `/clusters/${cluster(true)}/versions/${oddSegment(rng, String(rng.int(0, 8)))}`, jsonBody(rng, clusterDocument(rng)))],
    // Version 0 of the fixture's cluster is long gone: a valid document gets 409, an invalid one 400, and nothing is written.
    [5, () => request('POST', '/clusters/fixture/versions/0', jsonBody(rng, clusterDocument(rng)))],
    [8, () => request('GET', `/clusters/${cluster(false)}`)],
    [8, () => request('GET', `/clusters/${cluster(false)}/versions/${oddSegment(rng, String(rng.int(0, 8)))}?timeout=${rng.pick(['0', '0.1', '0.5', '1', '2', '-1', 'abc', '1e3', '', ' 1', '0x10', 'NaN', '1.', '.5'])}`)],
    [5, () => request('GET', `/clusters/${cluster(false)}/history`)],
    [7, () => request('GET', rng.pick(['/nodes', `/nodes/${cluster(false)}`, '/health', '/metrics']))],
    [10, () => {
      const method = rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE']);
      const path = rng.pick(['/', '/nodes/', '//nodes//fz-a', '/clusters', '/clusters/fz-a/versions', '/clusters/fz-a/versions/1/extra', '/../etc/passwd', '/%2e%2e/', '/nodes/fz-a/1/2', `/${'x'.repeat(rng.pick([100, 5000, 20_000]))}`, '/health?x=%zz', '/clusters/%/history']);
      return request(method, path, method === 'GET' || method === 'HEAD' ? undefined : jsonBody(rng, clusterDocument(rng)));
    }],
  ] as const)();
}

/** The request number `index` of `surface` in this run: a pure function of (SEED, surface, index). */
function requestFor(surface: Surface, index: number): FuzzRequest {
  const rng = new Prng(seedFor(SEED, surface, index));
  const request = surface === 'manager' ? managerRequest(rng) : surface === 'peer-1' ? peerRequest(rng) : proxyRequest(rng);
  // node:http refuses characters outside 0x21-0xff on the request line: encode them, the rest goes as generated.
  return { ...request, path: request.path.replace(/[^\x21-\xff]/g, (c) => encodeURIComponent(c)) };
}

// ---------------------------------------------------------------- sending and judging

function sendOnce(base: URL, request: FuzzRequest, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    let answered = false;
    const req = http.request({ host: base.hostname, port: base.port, method: request.method, path: request.path, headers, agent, signal: AbortSignal.timeout(DEADLINE_MS) }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // A server may answer before it read the whole body and then close (a 401, a 413): the answer counts, not the broken pipe after it.
    req.on('error', (err) => {
      if (!answered || (err as { name?: string }).name === 'AbortError') reject(Object.assign(err, { reusedSocket: req.reusedSocket }));
    });
    req.end(request.body);
  });
}

/** Sends a request; a keep-alive socket the server closed just before it is retried once (Node's documented race). */
async function send(base: URL, request: FuzzRequest, agent: http.Agent): Promise<Answer> {
  try {
    return await sendOnce(base, request, agent);
  } catch (err) {
    const { code, reusedSocket } = err as { code?: string; reusedSocket?: boolean };
    if (reusedSocket && code === 'ECONNRESET') return sendOnce(base, request, agent);
    throw err;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const errorOf = (answer: Answer): unknown => (parseJson(answer.body) as { error?: unknown } | undefined)?.error;

/** What is wrong with an answer, or undefined. */
function judge(surface: Surface, request: FuzzRequest, answer: Answer): string | undefined {
  const { status } = answer;
  if (!Number.isInteger(status) || status < 100 || status > 599) return `status ${status} is not an HTTP status`;
  if (surface === 'manager' && status >= 500) return `the manager answered ${status}`;
  const error = errorOf(answer);
  // The JSON server's last resort (500 "internal error: ...") and the proxy's (502 "proxy: ...") catch exceptions nobody handled.
  if (status === 500 && typeof error === 'string' && error.startsWith('internal error')) return 'an unhandled exception (500 internal error)';
  if (status === 502 && typeof error === 'string' && error.startsWith('proxy: ')) return 'an unhandled exception in the proxy (502)';
  if (typeof error === 'string') {
    // influxd is up and answers: an answer of its that the agent could not read is the agent's failure.
    if (error.includes('Response does not match the HTTP/1.1 protocol')) return "the agent could not read influxd's answer";
    // The manager is up: a DDL refused by influxd or by the manager's document check is the client's error, not an outage.
    if (status === 503 && /cluster metadata unavailable.*(manager refused the metadata write with 4\d\d|influxd answered 4\d\d)/s.test(error)) return 'a refused DDL answered as "cluster metadata unavailable" (503)';
  }
  const contentType = String(answer.headers['content-type'] ?? '');
  const fromInfluxd = answer.headers['x-influxdb-version'] !== undefined;
  if (status < 400) {
    // A whole (not chunked) JSON answer must parse; chunked output is several JSON documents.
    const chunked = /[?&]chunked=(true|1)/.test(request.path) || /(^|&)chunked=(true|1)/.test(request.body?.toString('latin1') ?? '');
    if (contentType.startsWith('application/json') && answer.body.length > 0 && !chunked && parseJson(answer.body) === undefined) return 'a JSON answer that does not parse';
    return undefined;
  }
  if (request.method === 'HEAD') return undefined; // no body by definition
  if (surface === 'manager' && status === 409 && request.method === 'POST' && request.path.includes('/versions/')) {
    // The documented CAS conflict (docs/design.md): the newest {version, metadata}, so the writer can rebase; no error field.
    const current = parseJson(answer.body) as { version?: unknown } | undefined;
    return typeof current?.version === 'number' && 'metadata' in current ? undefined : 'a 409 without the newest {version, metadata}';
  }
  // influxd's own answers, relayed unchanged, in the format the client asked for (CSV, MessagePack): influxd 1.6 writes errors that way.
  if (fromInfluxd && request.acceptsNonJson && (contentType.startsWith('text/csv') ? answer.body.toString('utf8').startsWith('error\n') : contentType.startsWith('application/x-msgpack') && answer.body.length > 0)) return undefined;
  // influxd's text 404/405 for what it does not route (GET /write), relayed by the proxy, which hands influxd every request it does not handle itself.
  if (fromInfluxd && surface.startsWith('proxy') && request.method !== 'POST' && (status === 404 || status === 405) && contentType.startsWith('text/plain')) return undefined;
  if (typeof error !== 'string' || error === '') return `an error answer without a JSON "error" string (content-type ${contentType || 'none'})`;
  return undefined;
}

/** Node's default limit of a request head (request line and headers), which the agent's and manager's own APIs keep. */
const NODE_MAX_HEAD_BYTES = 16 * 1024;

function headBytes(request: FuzzRequest): number {
  return request.method.length + request.path.length + 12 + Object.entries(request.headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
}

/** What is wrong with a request that got no answer at all; empty when that is acceptable. */
function judgeNoAnswer(surface: Surface, request: FuzzRequest, err: unknown): string {
  const { name, code, message } = err as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${DEADLINE_MS / 1000} s (a hang)`;
  // A server that cannot parse a request head answers 400 and closes; while the client still sends its body, that
  // answer may be lost to a reset. So it is for a request line with raw non-ASCII bytes everywhere (influxd refuses
  // those too), and for a head over Node's limit at the peer API and the manager. Not at the proxy: influxd, which
  // it stands in for, takes heads up to 1 MB.
  const reset = code === 'ECONNRESET' || code === 'EPIPE';
  if (reset && (/[^\x21-\x7e]/.test(request.path) || (!surface.startsWith('proxy') && headBytes(request) > NODE_MAX_HEAD_BYTES))) return '';
  return `no answer: ${code ?? name}: ${message}`;
}

function describeRequest(surface: Surface, index: number, request: FuzzRequest): string {
  const body = request.body === undefined ? '(none)' : `${request.body.length} bytes ${JSON.stringify(request.body.subarray(0, 300).toString('utf8'))}`;
  return `seed=${SEED} surface=${surface} index=${index} (replay: CFLUX_FUZZ_SEED=${SEED} CFLUX_FUZZ_ONLY=${surface}:${index})\n  ${request.method} ${request.path.slice(0, 300)}${request.path.length > 300 ? `... (${request.path.length} chars)` : ''}\n  headers ${JSON.stringify(request.headers).slice(0, 300)}\n  body ${body}`;
}

function describeAnswer(answer: Answer): string {
  return `${answer.status} ${String(answer.headers['content-type'] ?? '')} ${JSON.stringify(answer.body.subarray(0, 300).toString('utf8'))}`;
}

// ---------------------------------------------------------------- afterwards

/** Resident memory of a process in MiB. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]) / 1024;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` (true, or what is still wrong) for up to 10 s. */
async function until(check: () => Promise<true | string>): Promise<void> {
  let last: true | string = 'not checked';
  for (const started = Date.now(); Date.now() - started < 10_000; await sleep(100)) if ((last = await check()) === true) return;
  assert.fail(`setup did not converge in 10 s: ${last}`);
}

async function countThrough(proxyUrl: string, measurement: string): Promise<number> {
  const answer = await influxQuery(proxyUrl, `SELECT count(v) FROM "${measurement}"`, { db: PROTECTED_DB });
  return Number(answer.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? -1);
}

describe(`HTTP fuzzing (seed ${SEED}, ${COUNT} requests per surface)`, () => {
  let cluster: ClusterFixture;
  /** The protected database's measurements: one owned by each node (RF 1), so reading them crosses the peer API. */
  let originals: string[];

  before(async () => {
    cluster = await startClusterFixture({
      size: 2,
      etcd: false,
      // The target is ClusterFlux, not influxd's resource limits: a fuzzed GROUP BY time(1m) over data
      // from 1970 must not make influxd compute for minutes, so influxd refuses such queries quickly.
      influxd: { env: { INFLUXDB_COORDINATOR_MAX_SELECT_BUCKETS: '100000', INFLUXDB_COORDINATOR_QUERY_TIMEOUT: '10s' } },
    });
    const proxy = cluster.agents[0]!.proxyUrl;
    const created = await influxQuery(proxy, `CREATE DATABASE ${PROTECTED_DB} WITH REPLICATION 1; CREATE DATABASE fz_r1 WITH REPLICATION 1; CREATE DATABASE fz_r2; CREATE DATABASE fz_d0`);
    assert.ok(created.results.every((result: { error?: string }) => !result.error), JSON.stringify(created));
    const candidates = Array.from({ length: 40 }, (_, i) => `fuzz_orig_${i}`);
    originals = ['node-0', 'node-1'].map((node) => candidates.find((name) => ownersOf(PROTECTED_DB, name, ['node-0', 'node-1'], 1)[0] === node)!);
    // Every influxd has the databases (the agents mirror the document) before the write is split between them.
    await until(async () => {
      const views = await Promise.all(cluster.influxds.map((influxd) => influxQuery(influxd.url, 'SHOW DATABASES')));
      return views.every((view) => DATABASES.every((db) => JSON.stringify(view).includes(`"${db}"`))) || `databases on the influxds: ${JSON.stringify(views)}`;
    });
    const lines = originals.flatMap((name) => Array.from({ length: POINTS_PER_MEASUREMENT }, (_, i) => `${name},host=h${i % 5} v=${i} ${1_600_000_000 + i}`)).join('\n');
    const written = await fetch(`${proxy}/write?db=${PROTECTED_DB}&precision=s`, { method: 'POST', body: lines });
    assert.equal(written.status, 204, await written.text());
    await until(async () => {
      const counts = await Promise.all(cluster.agents.flatMap((agent) => originals.map((name) => countThrough(agent.proxyUrl, name))));
      return counts.every((count) => count === POINTS_PER_MEASUREMENT) || `counts through the proxies: ${counts.join(', ')}`;
    });
  });
  after(() => cluster?.stop());

  test(`every surface answers fuzzed requests in time, with a status and JSON errors (replay: CFLUX_FUZZ_SEED=${SEED})`, async (t) => {
    const bases: Record<Surface, URL> = {
      'proxy-0': new URL(cluster.agents[0]!.proxyUrl),
      'proxy-1': new URL(cluster.agents[1]!.proxyUrl),
      'peer-1': new URL(cluster.agents[1]!.peerUrl),
      manager: new URL(cluster.manager.url),
    };
    const agents = Object.fromEntries(SURFACES.map((surface) => [surface, new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT })])) as Record<Surface, http.Agent>;
    const jobs: Array<{ surface: Surface; index: number }> = [];
    if (ONLY) {
      const [surface, index] = ONLY.split(':');
      assert.ok(SURFACES.includes(surface as Surface) && Number.isSafeInteger(Number(index)), `CFLUX_FUZZ_ONLY must be <surface>:<index>, surface one of ${SURFACES.join(', ')}`);
      jobs.push({ surface: surface as Surface, index: Number(index) });
    } else {
      for (let index = 0; index < COUNT; index++) for (const surface of SURFACES) jobs.push({ surface, index });
    }

    const failures: string[] = [];
    const statuses = new Map<string, number>();
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const { surface, index } = jobs[next++]!;
        const request = requestFor(surface, index);
        let problem: string | undefined;
        let answer: Answer | undefined;
        try {
          answer = await send(bases[surface], request, agents[surface]);
          problem = judge(surface, request, answer);
          const key = `${surface} ${answer.status}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
        } catch (err) {
          problem = judgeNoAnswer(surface, request, err) || undefined;
        }
        if (problem) failures.push(`${problem}\n  ${describeRequest(surface, index, request)}${answer ? `\n  answer ${describeAnswer(answer)}` : ''}`);
        if (ONLY) t.diagnostic(`${describeRequest(surface, index, request)}\n  answer ${answer ? describeAnswer(answer) : '(none)'}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    for (const agent of Object.values(agents)) agent.destroy();
    t.diagnostic(`seed ${SEED}: ${jobs.length} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    // Per kind of problem: how often, and its first few requests in full.
    const kinds = new Map<string, string[]>();
    for (const failure of failures) {
      const key = `${failure.slice(0, failure.indexOf('\n'))} [${/surface=(\S+)/.exec(failure)![1]!.replace(/-\d$/, '')}]`;
      kinds.set(key, [...(kinds.get(key) ?? []), failure]);
    }
    const report = [...kinds].map(([kind, list]) => {
      // The distinct answers of a kind (their first 60 characters) tell different causes apart.
      const answers = new Map<string, number>();
      for (const failure of list) {
        const answer = /\n {2}answer (.{0,60})/.exec(failure)?.[1] ?? '(none)';
        answers.set(answer, (answers.get(answer) ?? 0) + 1);
      }
      return `== ${list.length} x ${kind}; answers: ${JSON.stringify(Object.fromEntries([...answers].slice(0, 12)))}\n${list.slice(0, 3).join('\n')}`;
    }).join('\n');
    assert.equal(failures.length, 0, `${failures.length} of ${jobs.length} answers failed (seed ${SEED}):\n${report}`);
  });

  test(`afterwards every process runs and answers, the data is intact and memory is bounded (seed ${SEED})`, async (t) => {
    const problems: string[] = [];
    const expectStatus = async (what: string, url: string, status: number, init?: RequestInit) => {
      try {
        const answer = await fetch(url, { ...init, signal: AbortSignal.timeout(DEADLINE_MS) });
        if (answer.status !== status) problems.push(`${what}: ${answer.status} ${(await answer.text()).slice(0, 300)}`);
      } catch (err) {
        problems.push(`${what}: no answer: ${(err as Error).message}`);
      }
    };
    for (const [index, agent] of cluster.agents.entries()) {
      if (agent.child.exitCode !== null || agent.child.signalCode !== null) problems.push(`agent ${index} exited (${agent.child.exitCode ?? agent.child.signalCode})`);
      await expectStatus(`agent ${index} /healthz`, `${agent.peerUrl}/healthz`, 200);
      await expectStatus(`agent ${index} /readyz`, `${agent.peerUrl}/readyz`, 200);
      await expectStatus(`agent ${index} proxy /ping`, `${agent.proxyUrl}/ping`, 204);
      await expectStatus(`agent ${index} proxy /health`, `${agent.proxyUrl}/health`, 200);
      const rss = rssOf(agent.pid);
      t.diagnostic(`agent ${index} RSS ${rss.toFixed(0)} MiB`);
      if (rss > RSS_LIMIT_MIB) problems.push(`agent ${index} RSS ${rss.toFixed(0)} MiB > ${RSS_LIMIT_MIB} MiB`);
    }
    const manager = cluster.manager;
    if (manager.child.exitCode !== null || manager.child.signalCode !== null) problems.push(`the manager exited (${manager.child.exitCode ?? manager.child.signalCode})`);
    await expectStatus('manager /health', `${manager.url}/health`, 200);
    await expectStatus('manager GET /nodes/fixture', `${manager.url}/nodes/fixture`, 200, { headers: { authorization: `Bearer ${TEST_MANAGER_TOKEN}` } });
    for (const [index, influxd] of cluster.influxds.entries()) if (!processAlive(influxd.pid)) problems.push(`influxd ${index} exited`);
    for (const [index, agent] of cluster.agents.entries()) {
      for (const name of originals) {
        const count = await countThrough(agent.proxyUrl, name).catch((err: Error) => `error: ${err.message}`);
        if (count !== POINTS_PER_MEASUREMENT) problems.push(`${PROTECTED_DB}.${name} through proxy ${index}: ${count} points, ${POINTS_PER_MEASUREMENT} written`);
      }
    }
    // The cluster still takes DDL through both proxies (a bad document would make every agent fail to apply it).
    for (const [index, agent] of cluster.agents.entries()) {
      const statement = `CREATE DATABASE fz_after_${index}; DROP DATABASE fz_after_${index}`;
      const answer = await fetch(`${agent.proxyUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: statement }), signal: AbortSignal.timeout(DEADLINE_MS) }).catch((err: Error) => err);
      const text = answer instanceof Error ? answer.message : `${answer.status} ${await answer.text()}`;
      if (!text.startsWith('200 ') || text.includes('"error"')) problems.push(`${statement} through proxy ${index}: ${text.slice(0, 400)}`);
    }
    // Not judged (a fuzzed request may rightly cause a warning), but the first of each kind helps reading a run.
    const tally = new Map<string, { count: number; first: string }>();
    const managerRecords = cluster.manager.logLines.flatMap((line) => {
      const record = parseJson(Buffer.from(line));
      return typeof record === 'object' && record !== null ? [record as Record<string, unknown>] : [];
    });
    for (const [name, records] of [...cluster.agents.map((agent, index) => [`agent ${index}`, agent.records] as const), ['manager', managerRecords] as const]) {
      for (const record of records.filter((entry) => Number(entry['level']) >= 40)) {
        const key = `${name}: ${String(record['msg'])}`;
        const seen = tally.get(key);
        if (seen) seen.count++;
        else tally.set(key, { count: 1, first: JSON.stringify(record).slice(0, 400) });
      }
    }
    t.diagnostic(`warnings and errors:\n${[...tally].map(([key, { count, first }]) => `${count} x ${key}; first: ${first}`).join('\n')}`);
    assert.deepEqual(problems, [], `after the fuzzing (seed ${SEED}, ${COUNT} requests per surface):\n${problems.join('\n')}`);
  });
});
