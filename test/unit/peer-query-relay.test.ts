// The heads of the raw peer query relay: what a client's GET /query becomes on
// its way to a peer, and what the peer sends its influxd. Credentials must stay
// in their own slots: a client cannot pass X-Cflux-* headers on, and a head
// without the peer token is never relayed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenMatcher } from '../../src/shared/http/credentials.ts';
import { influxdQueryHead, peerCouldNotAnswer, peerQueryHead } from '../../src/agent/proxy/fast-path/peer-query-relay.ts';

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const target = '/query?db=d&q=SELECT+1+FROM+m';
const PEER_LINES = 'Authorization: Bearer peer-secret\r\nx-cflux-metadata-revision: 7\r\n';
const matches = tokenMatcher('peer-secret');

test('a client head becomes a peer query: the peer host and token, the client credentials moved, its X-Cflux-* dropped', () => {
  const sent = peerQueryHead(
    head([`GET ${target} HTTP/1.1`, 'Host: proxy:8087', 'Authorization: Basic dTpw', 'Accept-Encoding: gzip', 'X-Cflux-Client-Authorization: Basic forged', 'x-cflux-metadata-revision: 999']),
    target,
    '10.0.0.2:8086',
    PEER_LINES,
  );
  assert.equal(
    sent?.toString('latin1'),
    `GET /peer/v1/query?db=d&q=SELECT+1+FROM+m HTTP/1.1\r\nHost: 10.0.0.2:8086\r\n${PEER_LINES}x-cflux-client-authorization: Basic dTpw\r\nAccept-Encoding: gzip\r\n\r\n`,
  );
});

test('the peer turns it back into the client request for its influxd', () => {
  const sent = peerQueryHead(head([`GET ${target} HTTP/1.1`, 'Host: proxy', 'Authorization: Basic dTpw', 'Accept: application/json']), target, 'peer:1', PEER_LINES)!;
  const read = influxdQueryHead(sent, '/peer/v1/query?db=d&q=SELECT+1+FROM+m', matches);
  assert.equal(read?.revision, 7);
  assert.equal(read?.head.toString('latin1'), `GET ${target} HTTP/1.1\r\nAuthorization: Basic dTpw\r\nHost: peer:1\r\nAccept: application/json\r\n\r\n`);
  // No client credentials: none reach influxd either.
  const anonymous = influxdQueryHead(peerQueryHead(head([`GET ${target} HTTP/1.1`, 'Host: proxy']), target, 'peer:1', PEER_LINES)!, '/peer/v1/query?db=d&q=SELECT+1+FROM+m', matches);
  assert.equal(anonymous?.head.toString('latin1'), `GET ${target} HTTP/1.1\r\nHost: peer:1\r\n\r\n`);
});

test('the peer relays nothing without its token (any, with --insecure-peer)', () => {
  const peerTarget = '/peer/v1/query?db=d&q=x';
  const withToken = (authorization: string | undefined) => head([`GET ${peerTarget} HTTP/1.1`, 'Host: a', ...(authorization ? [`Authorization: ${authorization}`] : []), 'x-cflux-client-authorization: Basic dTpw']);
  assert.ok(influxdQueryHead(withToken('Bearer peer-secret'), peerTarget, matches));
  assert.equal(influxdQueryHead(withToken('Bearer wrong'), peerTarget, matches), undefined);
  assert.equal(influxdQueryHead(withToken(undefined), peerTarget, matches), undefined);
  assert.equal(influxdQueryHead(withToken('Basic dTpw'), peerTarget, matches), undefined, 'the client credentials are not the peer token');
  assert.ok(influxdQueryHead(withToken(undefined), peerTarget, undefined), '--insecure-peer');
});

test('heads out of the ordinary are left to the HTTP server', () => {
  const plain = [`GET ${target} HTTP/1.1`, 'Host: proxy'];
  assert.equal(peerQueryHead(head([...plain, 'Authorization: Basic a', 'Authorization: Basic b']), target, 'p:1', PEER_LINES), undefined, 'two Authorization headers');
  assert.equal(peerQueryHead(head([...plain, 'X-A: 1', ' Authorization: folded']), target, 'p:1', PEER_LINES), undefined, 'a folded line');
  assert.equal(peerQueryHead(head([...plain, 'no colon']), target, 'p:1', PEER_LINES), undefined);
  assert.equal(peerQueryHead(head([...plain, 'X-A: 1\nInjected: 2']), target, 'p:1', PEER_LINES), undefined, 'a bare LF');
  const odd = '/query?q=a\nb';
  assert.equal(peerQueryHead(head([`GET ${odd} HTTP/1.1`, 'Host: proxy']), odd, 'p:1', PEER_LINES), undefined, 'a control byte in the target');
  assert.equal(peerQueryHead(head([`GET /write?db=d HTTP/1.1`, 'Host: proxy']), '/write?db=d', 'p:1', PEER_LINES), undefined, 'not a query');
  const twice = head(['GET /peer/v1/query?q=x HTTP/1.1', 'Host: a', 'Authorization: Bearer peer-secret', 'x-cflux-client-authorization: Basic a', 'x-cflux-client-authorization: Basic b']);
  assert.equal(influxdQueryHead(twice, '/peer/v1/query?q=x', matches), undefined, 'two client credentials');
  assert.equal(influxdQueryHead(head(['GET /peer/v1/replay?q=x HTTP/1.1', 'Host: a', 'Authorization: Bearer peer-secret']), '/peer/v1/replay?q=x', matches), undefined, 'another peer route');
});

test("a peer's answer the HTTP path tries again: 5xx, and the 404/405 of an agent from before the raw relay", () => {
  for (const status of [500, 502, 503, 504, 404, 405]) assert.equal(peerCouldNotAnswer(status), true, String(status));
  // influxd's own answers to a query are the client's: results, refusals, bad requests.
  for (const status of [200, 204, 400, 401, 403, 413]) assert.equal(peerCouldNotAnswer(status), false, String(status));
});
