import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkedBodyEnd, plainRequestOf, responseFramingOf, withHeaderLine } from '../../src/agent/proxy/fast-path/http-head.ts';

describe('HTTP heads for the write relay', () => {
  test('a plain request: method, target and body length', () => {
    const post = plainRequestOf(Buffer.from('POST /write?db=a&u=x HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: 12\r\nConnection: Keep-Alive\r\nX-A: 1\r\n\r\n'));
    assert.deepEqual(post, { method: 'POST', target: '/write?db=a&u=x', contentLength: 12, hasContentLength: true });
    const get = plainRequestOf(Buffer.from('GET /query?q=SHOW%20DATABASES HTTP/1.1\r\nHost: h\r\n\r\n'));
    assert.deepEqual(get, { method: 'GET', target: '/query?q=SHOW%20DATABASES', contentLength: 0, hasContentLength: false });
  });

  test('anything but plain framing reads as undefined', () => {
    const head = (text: string) => plainRequestOf(Buffer.from(`${text}\r\n\r\n`));
    assert.equal(head('POST /write HTTP/1.0\r\nContent-Length: 5'), undefined, 'HTTP/1.0');
    assert.equal(head('get /write HTTP/1.1\r\nContent-Length: 5'), undefined, 'lower-case method');
    assert.equal(head('POST  /write HTTP/1.1\r\nContent-Length: 5'), undefined, 'two spaces');
    assert.equal(head('POST /write HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5'), undefined, 'length twice');
    assert.equal(head('POST /write HTTP/1.1\r\nContent-Length: +5'), undefined, 'signed length');
    assert.equal(head('POST /write HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked'), undefined, 'chunked');
    assert.equal(head('POST /write HTTP/1.1\r\nContent-Length: 5\r\nexpect: 100-continue'), undefined, 'expect');
    assert.equal(head('POST /write HTTP/1.1\r\nContent-Length: 5\r\nConnection: close'), undefined, 'connection close');
    assert.equal(head('POST /write HTTP/1.1\r\nContent-Length: 5\r\nUpgrade: h2c'), undefined, 'upgrade');
  });

  test("an answer's framing, and a header added before its blank line", () => {
    const noContent = Buffer.from('HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.6.7\r\n\r\n');
    assert.deepEqual(responseFramingOf(noContent), { status: 204, body: 'none', keepAlive: true });
    assert.deepEqual(responseFramingOf(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 42\r\n\r\n')), { status: 400, body: 42, keepAlive: true });
    assert.deepEqual(responseFramingOf(Buffer.from('HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n')), { status: 400, body: 'chunked', keepAlive: true });
    assert.deepEqual(responseFramingOf(Buffer.from('HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 1\r\n\r\n')), { status: 500, body: 1, keepAlive: false });
    assert.deepEqual(responseFramingOf(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), { status: 200, body: 'close', keepAlive: false });
    assert.equal(responseFramingOf(Buffer.from('HTTP/1.1 100 Continue\r\n\r\n')), undefined);
    assert.equal(responseFramingOf(Buffer.from('HTTP/1.1 20x OK\r\n\r\n')), undefined);
    const marked = withHeaderLine(noContent, Buffer.from('X-Clusterflux-Version: 1.0.0\r\n'));
    assert.equal(marked.toString(), 'HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.6.7\r\nX-Clusterflux-Version: 1.0.0\r\n\r\n');
  });

  test('the end of a chunked body, fed whole or one byte at a time, with extensions and trailers', () => {
    const body = Buffer.from('5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\nNEXT');
    const whole = new ChunkedBodyEnd();
    assert.equal(whole.feed(body), body.length - 4);
    assert.ok(whole.done);
    const bytewise = new ChunkedBodyEnd();
    let used = 0;
    for (const byte of body) {
      if (bytewise.done) break;
      used += bytewise.feed(Buffer.from([byte]));
    }
    assert.equal(used, body.length - 4);
  });

  test('a malformed chunked body is reported, not followed', () => {
    assert.equal(new ChunkedBodyEnd().feed(Buffer.from('zz\r\n')), -1);
    assert.equal(new ChunkedBodyEnd().feed(Buffer.from('2\r\nabXY')), -1);
  });
});
