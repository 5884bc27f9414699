import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkedBodyEnd, contentLengthOf, parseRequestHead, parseResponseHead, withHeader } from '../../src/shared/http/http-head.ts';

describe('HTTP heads for the write relay', () => {
  test('a request head: method, target, version, headers by lower-case name', () => {
    const head = parseRequestHead(Buffer.from('POST /write?db=a&u=x HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX-A: 1\r\nx-a: 2\r\n\r\n'));
    assert.equal(head?.method, 'POST');
    assert.equal(head?.target, '/write?db=a&u=x');
    assert.equal(head?.version, 'HTTP/1.1');
    assert.deepEqual(head?.headers.get('x-a'), ['1', '2']);
    assert.equal(contentLengthOf(head!.headers), 12);
  });

  test('malformed heads and doubtful lengths parse to undefined', () => {
    assert.equal(parseRequestHead(Buffer.from('POST /write HTTP/2\r\n\r\n')), undefined);
    assert.equal(parseRequestHead(Buffer.from('POST  /write HTTP/1.1\r\n\r\n')), undefined);
    assert.equal(parseRequestHead(Buffer.from('POST /write HTTP/1.1\r\nBad Header: x\r\n\r\n')), undefined);
    assert.equal(parseRequestHead(Buffer.from('POST /write HTTP/1.1\r\nno-colon\r\n\r\n')), undefined);
    const twice = parseRequestHead(Buffer.from('POST /write HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n'))!;
    assert.equal(contentLengthOf(twice.headers), undefined);
    const signed = parseRequestHead(Buffer.from('POST /write HTTP/1.1\r\nContent-Length: +5\r\n\r\n'))!;
    assert.equal(contentLengthOf(signed.headers), undefined);
  });

  test('a response head, and a header added before its blank line', () => {
    const bytes = Buffer.from('HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.6.7\r\n\r\n');
    assert.equal(parseResponseHead(bytes)?.status, 204);
    const marked = withHeader(bytes, 'X-Clusterflux-Version', '1.0.0');
    assert.equal(marked.toString(), 'HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.6.7\r\nX-Clusterflux-Version: 1.0.0\r\n\r\n');
    assert.equal(parseResponseHead(Buffer.from('HTTP/1.1 20x OK\r\n\r\n')), undefined);
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
