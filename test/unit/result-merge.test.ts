// Fixtures are influxd 1.6.7 answers: two "nodes" (databases n1, n2) holding
// parts of the data and a reference (database ref) holding all of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compareInfluxStrings, concatSeriesResults, mergeShowResults, selectOrdersDescending, showLimitOffset,
} from '../../src/agent/proxy/result-merge.ts';
import type { MergeableShowKind } from '../../src/agent/proxy/result-merge.ts';
import type { StatementResult } from '../../src/influxql/query-result.ts';

const parse = (json: string): StatementResult => JSON.parse(json) as StatementResult;

/** One SHOW asked from both nodes and the reference, without and with LIMIT/OFFSET. */
interface ShowFixture {
  kind: MergeableShowKind;
  n1: string;
  n2: string;
  ref: string;
  paged?: { limit: number; offset: number; ref: string };
}

// n1: cpu,host=a,dc=x  cpu,host=b  "disk io",host=a\ b  mem,host=a
// n2: cpu,host=c  cpu,host=a,dc=x  net,iface=eth0  mem,host=b  Ä,host=é
const SHOWS: Record<string, ShowFixture> = {
  'SHOW MEASUREMENTS': {
    kind: 'measurements',
    n1: '{"statement_id":0,"series":[{"name":"measurements","columns":["name"],"values":[["cpu"],["disk io"],["mem"]]}]}',
    n2: '{"statement_id":0,"series":[{"name":"measurements","columns":["name"],"values":[["cpu"],["mem"],["net"],["Ä"]]}]}',
    ref: '{"statement_id":0,"series":[{"name":"measurements","columns":["name"],"values":[["cpu"],["disk io"],["mem"],["net"],["Ä"]]}]}',
    paged: { limit: 2, offset: 1, ref: '{"statement_id":0,"series":[{"name":"measurements","columns":["name"],"values":[["disk io"],["mem"]]}]}' },
  },
  'SHOW TAG KEYS': {
    kind: 'tag-keys',
    n1: '{"statement_id":0,"series":[{"name":"cpu","columns":["tagKey"],"values":[["dc"],["host"]]},{"name":"disk io","columns":["tagKey"],"values":[["host"]]},{"name":"mem","columns":["tagKey"],"values":[["host"]]}]}',
    n2: '{"statement_id":0,"series":[{"name":"cpu","columns":["tagKey"],"values":[["dc"],["host"]]},{"name":"mem","columns":["tagKey"],"values":[["host"]]},{"name":"net","columns":["tagKey"],"values":[["iface"]]},{"name":"Ä","columns":["tagKey"],"values":[["host"]]}]}',
    ref: '{"statement_id":0,"series":[{"name":"cpu","columns":["tagKey"],"values":[["dc"],["host"]]},{"name":"disk io","columns":["tagKey"],"values":[["host"]]},{"name":"mem","columns":["tagKey"],"values":[["host"]]},{"name":"net","columns":["tagKey"],"values":[["iface"]]},{"name":"Ä","columns":["tagKey"],"values":[["host"]]}]}',
    // Per measurement: only cpu has a second tag key; the others are dropped.
    paged: { limit: 1, offset: 1, ref: '{"statement_id":0,"series":[{"name":"cpu","columns":["tagKey"],"values":[["host"]]}]}' },
  },
  'SHOW TAG VALUES WITH KEY = "host"': {
    kind: 'tag-values',
    n1: '{"statement_id":0,"series":[{"name":"cpu","columns":["key","value"],"values":[["host","a"],["host","b"]]},{"name":"disk io","columns":["key","value"],"values":[["host","a b"]]},{"name":"mem","columns":["key","value"],"values":[["host","a"]]}]}',
    n2: '{"statement_id":0,"series":[{"name":"cpu","columns":["key","value"],"values":[["host","a"],["host","c"]]},{"name":"mem","columns":["key","value"],"values":[["host","b"]]},{"name":"Ä","columns":["key","value"],"values":[["host","é"]]}]}',
    ref: '{"statement_id":0,"series":[{"name":"cpu","columns":["key","value"],"values":[["host","a"],["host","b"],["host","c"]]},{"name":"disk io","columns":["key","value"],"values":[["host","a b"]]},{"name":"mem","columns":["key","value"],"values":[["host","a"],["host","b"]]},{"name":"Ä","columns":["key","value"],"values":[["host","é"]]}]}',
    paged: { limit: 1, offset: 1, ref: '{"statement_id":0,"series":[{"name":"cpu","columns":["key","value"],"values":[["host","b"]]},{"name":"mem","columns":["key","value"],"values":[["host","b"]]}]}' },
  },
  'SHOW FIELD KEYS': {
    kind: 'field-keys',
    n1: '{"statement_id":0,"series":[{"name":"cpu","columns":["fieldKey","fieldType"],"values":[["v","float"]]},{"name":"disk io","columns":["fieldKey","fieldType"],"values":[["used","integer"]]},{"name":"mem","columns":["fieldKey","fieldType"],"values":[["free","integer"]]}]}',
    n2: '{"statement_id":0,"series":[{"name":"cpu","columns":["fieldKey","fieldType"],"values":[["v","float"]]},{"name":"mem","columns":["fieldKey","fieldType"],"values":[["free","integer"]]},{"name":"net","columns":["fieldKey","fieldType"],"values":[["note","string"],["rx","integer"]]},{"name":"Ä","columns":["fieldKey","fieldType"],"values":[["v","float"]]}]}',
    ref: '{"statement_id":0,"series":[{"name":"cpu","columns":["fieldKey","fieldType"],"values":[["v","float"]]},{"name":"disk io","columns":["fieldKey","fieldType"],"values":[["used","integer"]]},{"name":"mem","columns":["fieldKey","fieldType"],"values":[["free","integer"]]},{"name":"net","columns":["fieldKey","fieldType"],"values":[["note","string"],["rx","integer"]]},{"name":"Ä","columns":["fieldKey","fieldType"],"values":[["v","float"]]}]}',
    paged: { limit: 1, offset: 1, ref: '{"statement_id":0,"series":[{"name":"net","columns":["fieldKey","fieldType"],"values":[["rx","integer"]]}]}' },
  },
  'SHOW SERIES': {
    kind: 'series',
    n1: String.raw`{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,dc=x,host=a"],["cpu,host=b"],["disk\\ io,host=a\\ b"],["mem,host=a"]]}]}`,
    n2: '{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,dc=x,host=a"],["cpu,host=c"],["mem,host=b"],["net,iface=eth0"],["Ä,host=é"]]}]}',
    ref: String.raw`{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,dc=x,host=a"],["cpu,host=b"],["cpu,host=c"],["disk\\ io,host=a\\ b"],["mem,host=a"],["mem,host=b"],["net,iface=eth0"],["Ä,host=é"]]}]}`,
    paged: { limit: 3, offset: 1, ref: String.raw`{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,host=b"],["cpu,host=c"],["disk\\ io,host=a\\ b"]]}]}` },
  },
  'SHOW SERIES FROM /^(cpu|mem)$/': {
    kind: 'series',
    n1: '{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,dc=x,host=a"],["cpu,host=b"],["mem,host=a"]]}]}',
    n2: '{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,dc=x,host=a"],["cpu,host=c"],["mem,host=b"]]}]}',
    ref: '{"statement_id":0,"series":[{"columns":["key"],"values":[["cpu,dc=x,host=a"],["cpu,host=b"],["cpu,host=c"],["mem,host=a"],["mem,host=b"]]}]}',
  },
  'SHOW TAG KEYS FROM nothing': { kind: 'tag-keys', n1: '{"statement_id":0}', n2: '{"statement_id":0}', ref: '{"statement_id":0}' },
};

for (const [statement, fixture] of Object.entries(SHOWS)) {
  test(`merge: ${statement} from two nodes equals influxd's answer with all the data`, () => {
    const answers = [parse(fixture.n1), parse(fixture.n2)];
    assert.deepEqual(mergeShowResults(fixture.kind, answers), parse(fixture.ref));
    assert.deepEqual(mergeShowResults(fixture.kind, answers.toReversed()), parse(fixture.ref), 'order of the nodes');
    assert.equal(JSON.stringify(mergeShowResults(fixture.kind, answers)), JSON.stringify(parse(fixture.ref)), 'field order');
    if (fixture.paged !== undefined) {
      const { limit, offset, ref } = fixture.paged;
      assert.deepEqual(mergeShowResults(fixture.kind, answers, { limit, offset }), parse(ref), `LIMIT ${limit} OFFSET ${offset}`);
    }
  });
}

test('merge: an empty answer adds nothing; paging past the end leaves no series', () => {
  const full = SHOWS['SHOW TAG VALUES WITH KEY = "host"'];
  assert.ok(full !== undefined);
  assert.deepEqual(mergeShowResults('tag-values', [parse('{"statement_id":0}'), parse(full.ref)]), parse(full.ref));
  assert.deepEqual(mergeShowResults('measurements', []), { statement_id: 0 });
  assert.deepEqual(mergeShowResults('measurements', [parse(SHOWS['SHOW MEASUREMENTS']?.ref ?? '')], { offset: 100 }), { statement_id: 0 });
  // LIMIT 0 is no limit in influxd.
  assert.deepEqual(mergeShowResults('series', [parse(SHOWS['SHOW SERIES']?.ref ?? '')], { limit: 0 }), parse(SHOWS['SHOW SERIES']?.ref ?? ''));
});

test('merge: SHOW SERIES sorts by measurement, then tag by tag, unescaped (not as text)', () => {
  // influxd's own order for these keys (SHOW SERIES on one database holding them all).
  const sorted = [
    'm,host=a', 'm\\ b,host=a', 'm\\ b,host=a\\ b', 'm\\ b,host=a-b', 'm+,host=a', 'm-b,host=a', 'm-b,host=a\\ b', 'm-b,host=a-b',
    'm1', 'm1,host=a', 'm1,host=a,other=q', 'm1,host=c', 'm10,host=a', 'my\\ m,host=a', 'my\\,m,host=b', 's,a=b', 's,a\\ b=c',
    't,dc=x,host=a', 't,dc=y', 't,host=a', 't,host=a\\,b', 't,host=a\\=b', 't,host\\ x=a', 'Ä,host=é',
  ];
  const answer = (keys: string[]): StatementResult => ({ statement_id: 0, series: [{ columns: ['key'], values: keys.map((key) => [key]) }] });
  const shuffled = sorted.map((key, index) => ({ key, rank: (index * 7) % sorted.length })).sort((a, b) => a.rank - b.rank).map(({ key }) => key);
  const merged = mergeShowResults('series', [answer(shuffled.slice(0, 12)), answer(shuffled.slice(8))]);
  assert.deepEqual(merged, answer(sorted));
});

test('merge: SHOW FIELD KEYS lists a field once per type, sorted by key then type', () => {
  // influxd with t2 a=1i,z=1i in one shard and b=1.0,z=1.0 in another.
  const node1 = parse('{"statement_id":0,"series":[{"name":"t2","columns":["fieldKey","fieldType"],"values":[["a","integer"],["z","integer"]]}]}');
  const node2 = parse('{"statement_id":0,"series":[{"name":"t2","columns":["fieldKey","fieldType"],"values":[["b","float"],["z","float"]]}]}');
  assert.deepEqual(mergeShowResults('field-keys', [node1, node2]),
    parse('{"statement_id":0,"series":[{"name":"t2","columns":["fieldKey","fieldType"],"values":[["a","integer"],["b","float"],["z","float"],["z","integer"]]}]}'));
  assert.deepEqual(mergeShowResults('field-keys', [node2, node1], { limit: 2, offset: 1 }),
    parse('{"statement_id":0,"series":[{"name":"t2","columns":["fieldKey","fieldType"],"values":[["b","float"],["z","float"]]}]}'));
});

test('merge: the first error wins; messages and partial flags are kept', () => {
  const ok = parse(SHOWS['SHOW MEASUREMENTS']?.n1 ?? '');
  const failed = parse('{"statement_id":0,"error":"database not found: x"}');
  const other = parse('{"statement_id":0,"error":"other"}');
  assert.deepEqual(mergeShowResults('measurements', [ok, failed, other]), failed);
  assert.deepEqual(concatSeriesResults([ok, other, failed]), other);
  const warned: StatementResult = { statement_id: 0, messages: [{ level: 'warning', text: 'deprecated' }], partial: true };
  assert.deepEqual(concatSeriesResults([warned, ok, warned]), { ...ok, messages: [{ level: 'warning', text: 'deprecated' }], partial: true });
  const partialSeries: StatementResult = { statement_id: 0, series: [{ name: 'a', columns: ['time', 'v'], values: [[1, 2]], partial: true }], partial: true };
  assert.deepEqual(concatSeriesResults([partialSeries]), partialSeries);
});

// SELECTs split per measurement: "disk io" lives on n1, net and Ä on n2.
const SELECTS: Record<string, { n1: string; n2: string; ref: string }> = {
  'SELECT * FROM "disk io", net, "Ä"': {
    n1: '{"statement_id":0,"series":[{"name":"disk io","columns":["time","host","used"],"values":[["1970-01-01T00:00:01Z","a b",1]]}]}',
    n2: '{"statement_id":0,"series":[{"name":"net","columns":["time","host","iface","note","rx","v"],"values":[["1970-01-01T00:00:01Z",null,"eth0","x",1,null]]},{"name":"Ä","columns":["time","host","iface","note","rx","v"],"values":[["1970-01-01T00:00:01Z","é",null,null,null,9]]}]}',
    ref: '{"statement_id":0,"series":[{"name":"disk io","columns":["time","host","iface","note","rx","used","v"],"values":[["1970-01-01T00:00:01Z","a b",null,null,null,1,null]]},{"name":"net","columns":["time","host","iface","note","rx","used","v"],"values":[["1970-01-01T00:00:01Z",null,"eth0","x",1,null,null]]},{"name":"Ä","columns":["time","host","iface","note","rx","used","v"],"values":[["1970-01-01T00:00:01Z","é",null,null,null,null,9]]}]}',
  },
  'SELECT count(*) FROM "disk io", net, "Ä" GROUP BY *': {
    n1: '{"statement_id":0,"series":[{"name":"disk io","tags":{"host":"a b"},"columns":["time","count_used"],"values":[["1970-01-01T00:00:00Z",1]]}]}',
    n2: '{"statement_id":0,"series":[{"name":"net","tags":{"host":"","iface":"eth0"},"columns":["time","count_note","count_rx","count_v"],"values":[["1970-01-01T00:00:00Z",1,1,null]]},{"name":"Ä","tags":{"host":"é","iface":""},"columns":["time","count_note","count_rx","count_v"],"values":[["1970-01-01T00:00:00Z",null,null,1]]}]}',
    ref: '{"statement_id":0,"series":[{"name":"disk io","tags":{"host":"a b","iface":""},"columns":["time","count_note","count_rx","count_used","count_v"],"values":[["1970-01-01T00:00:00Z",null,null,1,null]]},{"name":"net","tags":{"host":"","iface":"eth0"},"columns":["time","count_note","count_rx","count_used","count_v"],"values":[["1970-01-01T00:00:00Z",1,1,null,null]]},{"name":"Ä","tags":{"host":"é","iface":""},"columns":["time","count_note","count_rx","count_used","count_v"],"values":[["1970-01-01T00:00:00Z",null,null,null,1]]}]}',
  },
  'SELECT count(*) FROM "disk io", net, "Ä" GROUP BY * ORDER BY time DESC': {
    n1: '{"statement_id":0,"series":[{"name":"disk io","tags":{"host":"a b"},"columns":["time","count_used"],"values":[["1970-01-01T00:00:00Z",1]]}]}',
    n2: '{"statement_id":0,"series":[{"name":"Ä","tags":{"host":"é","iface":""},"columns":["time","count_note","count_rx","count_v"],"values":[["1970-01-01T00:00:00Z",null,null,1]]},{"name":"net","tags":{"host":"","iface":"eth0"},"columns":["time","count_note","count_rx","count_v"],"values":[["1970-01-01T00:00:00Z",1,1,null]]}]}',
    ref: '{"statement_id":0,"series":[{"name":"Ä","tags":{"host":"é","iface":""},"columns":["time","count_note","count_rx","count_used","count_v"],"values":[["1970-01-01T00:00:00Z",null,null,null,1]]},{"name":"net","tags":{"host":"","iface":"eth0"},"columns":["time","count_note","count_rx","count_used","count_v"],"values":[["1970-01-01T00:00:00Z",1,1,null,null]]},{"name":"disk io","tags":{"host":"a b","iface":""},"columns":["time","count_note","count_rx","count_used","count_v"],"values":[["1970-01-01T00:00:00Z",null,null,1,null]]}]}',
  },
};

for (const [statement, fixture] of Object.entries(SELECTS)) {
  test(`concat: ${statement} split per measurement equals influxd's answer`, () => {
    const options = { descending: selectOrdersDescending(statement) };
    for (const answers of [[fixture.n1, fixture.n2], [fixture.n2, fixture.n1]]) {
      const merged = concatSeriesResults(answers.map(parse), options);
      assert.deepEqual(merged, parse(fixture.ref));
      assert.equal(JSON.stringify(merged), JSON.stringify(parse(fixture.ref)), 'field order');
    }
  });
}

test('concat: series of the same measurement keep their tag order; empty answers add nothing', () => {
  // influxd: SELECT count(value) FROM m2, m1 GROUP BY host
  const m1 = parse('{"statement_id":0,"series":[{"name":"m1","tags":{"host":"a"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",2]]},{"name":"m1","tags":{"host":"c"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",1]]}]}');
  const m2 = parse('{"statement_id":0,"series":[{"name":"m2","tags":{"host":"a"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",1]]},{"name":"m2","tags":{"host":"b"},"columns":["time","count"],"values":[["1970-01-01T00:00:00Z",1]]}]}');
  const both = { statement_id: 0, series: [...(m1.series ?? []), ...(m2.series ?? [])] };
  assert.deepEqual(concatSeriesResults([m2, parse('{"statement_id":0}'), m1]), both);
  assert.deepEqual(concatSeriesResults([m2, m1], { descending: true }).series?.map((one) => `${one.name} ${one.tags?.['host']}`), ['m2 b', 'm2 a', 'm1 c', 'm1 a']);
  assert.deepEqual(concatSeriesResults([parse('{"statement_id":0}'), parse('{"statement_id":0}')]), { statement_id: 0 });
});

test('concat: a column union keeps every answer\'s order and breaks ties in byte order', () => {
  const answer = (name: string, columns: string[]): StatementResult => ({ statement_id: 0, series: [{ name, columns, values: [columns] }] });
  const merged = concatSeriesResults([answer('m1', ['time', 'b', 'x']), answer('m2', ['time', 'a', 'c', 'x', 'y'])]);
  assert.deepEqual(merged.series?.[0]?.columns, ['time', 'a', 'b', 'c', 'x', 'y']);
  assert.deepEqual(merged.series?.map((one) => one.values?.[0]), [
    ['time', null, 'b', null, 'x', null],
    ['time', 'a', null, 'c', 'x', 'y'],
  ]);
});

test('showLimitOffset: top-level LIMIT and OFFSET are taken out of the statement', () => {
  assert.deepEqual(showLimitOffset('SHOW MEASUREMENTS LIMIT 2 OFFSET 1'), { limit: 2, offset: 1, stripped: 'SHOW MEASUREMENTS' });
  assert.deepEqual(showLimitOffset('SHOW MEASUREMENTS'), { stripped: 'SHOW MEASUREMENTS' });
  assert.deepEqual(showLimitOffset('show tag values with key = "limit" where "offset" = \'LIMIT 3\' limit 5'), {
    limit: 5, stripped: 'show tag values with key = "limit" where "offset" = \'LIMIT 3\'',
  });
  assert.deepEqual(showLimitOffset('SHOW SERIES FROM /LIMIT 1/ OFFSET 10;'), { offset: 10, stripped: 'SHOW SERIES FROM /LIMIT 1/;' });
  assert.deepEqual(showLimitOffset('SHOW TAG KEYS LIMIT 1 OFFSET 1 SLIMIT 1 SOFFSET 1'), { limit: 1, offset: 1, stripped: 'SHOW TAG KEYS SLIMIT 1 SOFFSET 1' });
  assert.deepEqual(showLimitOffset('SELECT * FROM (SELECT v FROM m LIMIT 3) LIMIT 2'), { limit: 2, stripped: 'SELECT * FROM (SELECT v FROM m LIMIT 3)' });
  // Left for influxd to refuse.
  assert.deepEqual(showLimitOffset('SHOW MEASUREMENTS LIMIT 99999999999999999999'), { stripped: 'SHOW MEASUREMENTS LIMIT 99999999999999999999' });
  assert.deepEqual(showLimitOffset('SHOW MEASUREMENTS LIMIT -1'), { stripped: 'SHOW MEASUREMENTS LIMIT -1' });
});

test('selectOrdersDescending: only the top-level ORDER BY counts', () => {
  assert.equal(selectOrdersDescending('SELECT v FROM m ORDER BY time DESC LIMIT 1'), true);
  assert.equal(selectOrdersDescending('select v from m order by time desc'), true);
  assert.equal(selectOrdersDescending('SELECT v FROM m ORDER BY time ASC'), false);
  assert.equal(selectOrdersDescending('SELECT v FROM m'), false);
  assert.equal(selectOrdersDescending('SELECT v FROM (SELECT v FROM m ORDER BY time DESC) WHERE "desc" = \'DESC\''), false);
});

test('compareInfluxStrings: byte order, as influxd sorts names', () => {
  // influxd's SHOW MEASUREMENTS order.
  const names = ['B', '_u', 'a', 'm', 'm+', 'm1', 'm10', 'm2', 'my m', 'my,m', 'quo.ted', 'sl', 'sl2', 'tgt', 'Ä'];
  assert.deepEqual(names.toReversed().sort(compareInfluxStrings), names);
  // UTF-8 order puts U+1F600 after U+FFFD; UTF-16 units would not.
  assert.equal(compareInfluxStrings('\u{1F600}', '\uFFFD'), 1);
  assert.equal(compareInfluxStrings('a', 'a'), 0);
  assert.equal(compareInfluxStrings('a', 'ab'), -1);
});
