import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InfluxqlSyntaxError } from '../../src/influxql/influxql-reader.ts';
import { statementSources } from '../../src/influxql/influxql-sources.ts';
import type { MeasurementSource } from '../../src/influxql/influxql-sources.ts';

const named = (name: string, database: string | null = 'db0', retentionPolicy: string | null = null): MeasurementSource => ({
  database, retentionPolicy, measurement: { kind: 'name', name },
});
const regex = (pattern: string, database: string | null = 'db0', retentionPolicy: string | null = null): MeasurementSource => ({
  database, retentionPolicy, measurement: { kind: 'regex', pattern },
});

/** The text of each top-level source span. */
function spanTexts(statement: string): string[] {
  return statementSources(statement, 'db0').sourceSpans.map((span) => statement.slice(span.start, span.end));
}

test('sources: SELECT with several measurements, regexes and qualified names', () => {
  const statement = 'SELECT * FROM m1, "db"."rp"."quo.ted m", db..m, rp.m, "my rp".m2, /cpu.*/, rp./re\\/x/, db.rp./r/, db../s/ WHERE host =~ /a/';
  const analysis = statementSources(statement, 'db0');
  assert.deepEqual(analysis.sources, [
    named('m1'), named('quo.ted m', 'db', 'rp'), named('m', 'db'), named('m', 'db0', 'rp'), named('m2', 'db0', 'my rp'),
    regex('cpu.*'), regex('re/x', 'db0', 'rp'), regex('r', 'db', 'rp'), regex('s', 'db'),
  ]);
  assert.equal(analysis.hasFrom, true);
  assert.equal(analysis.into, null);
  assert.equal(analysis.database, 'db0');
  assert.deepEqual(spanTexts(statement), ['m1', '"db"."rp"."quo.ted m"', 'db..m', 'rp.m', '"my rp".m2', '/cpu.*/', 'rp./re\\/x/', 'db.rp./r/', 'db../s/']);
  const list = analysis.fromListSpan;
  assert.equal(list === null ? null : statement.slice(list.start, list.end), 'm1, "db"."rp"."quo.ted m", db..m, rp.m, "my rp".m2, /cpu.*/, rp./re\\/x/, db.rp./r/, db../s/');
});

test('sources: quoted names with dots, spaces, escapes and keywords; whitespace after a dot', () => {
  assert.deepEqual(statementSources('select "v" from "a.b c"."x\\"y"', null).sources, [named('x"y', null, 'a.b c')]);
  assert.deepEqual(statementSources('SELECT "from" FROM "select"', 'd').sources, [named('select', 'd')]);
  assert.deepEqual(statementSources('SELECT v FROM rp. m', 'd').sources, [named('m', 'd', 'rp')]);
  assert.deepEqual(statementSources('SELECT v FROM m -- FROM other\nWHERE x = \'FROM y\'', 'd').sources, [named('m', 'd')]);
  assert.deepEqual(statementSources('SELECT v / 2 FROM m; SELECT * FROM other', 'd').sources, [named('m', 'd')]);
});

test('sources: no default database leaves unqualified sources without one', () => {
  assert.deepEqual(statementSources('SELECT v FROM m, db.rp.n', null).sources, [named('m', null), named('n', 'db', 'rp')]);
});

test('sources: subqueries count with their own sources, at any depth; the outer span covers the parentheses', () => {
  const statement = 'SELECT max(v) FROM (SELECT mean(v) AS v FROM a, (SELECT * FROM b.c.d WHERE (x > 1)) GROUP BY time(1m)), e WHERE time > now() - 1h';
  const analysis = statementSources(statement, 'db0');
  assert.deepEqual(analysis.sources, [named('a'), named('d', 'b', 'c'), named('e')]);
  assert.deepEqual(spanTexts(statement), ['(SELECT mean(v) AS v FROM a, (SELECT * FROM b.c.d WHERE (x > 1)) GROUP BY time(1m))', 'e']);
  assert.equal(analysis.sourceSpans[0]?.source, null);
});

test('sources: SELECT ... INTO, with the :MEASUREMENT backreference', () => {
  const into = (statement: string): unknown => statementSources(statement, 'db0').into;
  assert.deepEqual(into('SELECT * INTO copy FROM m'), { database: 'db0', retentionPolicy: null, measurement: { kind: 'name', name: 'copy' } });
  assert.deepEqual(into('SELECT * INTO rp.copy FROM m'), { database: 'db0', retentionPolicy: 'rp', measurement: { kind: 'name', name: 'copy' } });
  assert.deepEqual(into('SELECT * INTO "other db"."rp"."a.b" FROM m'), { database: 'other db', retentionPolicy: 'rp', measurement: { kind: 'name', name: 'a.b' } });
  assert.deepEqual(into('SELECT mean(*) INTO "other"..:MEASUREMENT FROM /.*/ GROUP BY *'), { database: 'other', retentionPolicy: null, measurement: { kind: 'backreference' } });
  assert.deepEqual(into('SELECT * INTO db.rp.:MEASUREMENT FROM m'), { database: 'db', retentionPolicy: 'rp', measurement: { kind: 'backreference' } });
  // influxd: with two segments the first is the retention policy.
  assert.deepEqual(into('SELECT * INTO rp.:measurement FROM m'), { database: 'db0', retentionPolicy: 'rp', measurement: { kind: 'backreference' } });
  const analysis = statementSources('SELECT count(v) INTO x..:MEASUREMENT FROM a, /b/', 'db0');
  assert.deepEqual(analysis.sources, [named('a'), regex('b')]);
  assert.equal(statementSources('SELECT "into" FROM m', 'db0').into, null);
});

test('sources: EXPLAIN [ANALYZE] SELECT', () => {
  assert.deepEqual(statementSources('EXPLAIN SELECT count(*) FROM rp.m', 'd').sources, [named('m', 'd', 'rp')]);
  const analysis = statementSources('EXPLAIN ANALYZE SELECT count(*) FROM /x/', 'd');
  assert.deepEqual(analysis.sources, [regex('x', 'd')]);
  assert.equal(analysis.hasFrom, true);
});

test('sources: SHOW ... [ON db] [FROM ...]', () => {
  const statement = 'SHOW TAG KEYS ON "my db" FROM /cpu.*/, mem, rp.disk WHERE host = \'x\' LIMIT 2';
  const analysis = statementSources(statement, 'db0');
  assert.equal(analysis.database, 'my db');
  assert.deepEqual(analysis.sources, [regex('cpu.*', 'my db'), named('mem', 'my db'), named('disk', 'my db', 'rp')]);
  assert.deepEqual(spanTexts(statement), ['/cpu.*/', 'mem', 'rp.disk']);
  assert.equal(analysis.hasFrom, true);

  const values = statementSources('SHOW TAG VALUES FROM /^(a|b)$/ WITH KEY =~ /ho.*/ WHERE x = \'1\'', 'db0');
  assert.deepEqual(values.sources, [regex('^(a|b)$')]);
  assert.deepEqual(statementSources('SHOW FIELD KEYS FROM "a b"', 'db0').sources, [named('a b')]);
  assert.deepEqual(statementSources('SHOW SERIES ON x FROM db.rp.m', 'db0').sources, [named('m', 'db', 'rp')]);
  assert.deepEqual(statementSources('SHOW SERIES EXACT CARDINALITY FROM m', 'db0').sources, [named('m')]);

  const all = statementSources('SHOW TAG KEYS', 'db0');
  assert.deepEqual({ sources: all.sources, hasFrom: all.hasFrom, database: all.database, spans: all.sourceSpans }, { sources: [], hasFrom: false, database: 'db0', spans: [] });
  assert.equal(statementSources('SHOW FIELD KEYS ON other', 'db0').database, 'other');
});

test('sources: SHOW MEASUREMENTS WITH MEASUREMENT is a source, not a FROM clause', () => {
  const analysis = statementSources('SHOW MEASUREMENTS ON x WITH MEASUREMENT =~ /m.*/ WHERE host = \'a\' LIMIT 1', 'db0');
  assert.deepEqual(analysis.sources, [regex('m.*', 'x')]);
  assert.equal(analysis.hasFrom, false);
  assert.deepEqual(analysis.sourceSpans, []);
  assert.deepEqual(statementSources('SHOW MEASUREMENTS WITH MEASUREMENT = x..m1', null).sources, [named('m1', 'x')]);
  assert.deepEqual(statementSources('SHOW MEASUREMENTS', 'db0').sources, []);
});

test('sources: DELETE, DROP SERIES, DROP MEASUREMENT', () => {
  const deleted = statementSources('DELETE FROM m WHERE time < 10', 'db0');
  assert.deepEqual(deleted.sources, [named('m')]);
  assert.equal(deleted.hasFrom, true);
  assert.deepEqual(spanTexts('DELETE FROM m WHERE time < 10'), ['m']);
  const dropped = statementSources("DROP SERIES FROM /re/, \"b c\" WHERE host = 'a'", 'db0');
  assert.deepEqual(dropped.sources, [regex('re'), named('b c')]);
  const everywhere = statementSources("DELETE WHERE host = 'a'", 'db0');
  assert.deepEqual({ sources: everywhere.sources, hasFrom: everywhere.hasFrom }, { sources: [], hasFrom: false });
  assert.deepEqual(statementSources('DROP MEASUREMENT "a b"', 'db0').sources, [named('a b')]);
  assert.deepEqual(statementSources('drop series where x = \'1\'', 'db0').sources, []);
});

test('sources: statements that read no measurements', () => {
  for (const statement of ['SHOW DATABASES', 'CREATE DATABASE x', 'DROP DATABASE x', 'SHOW RETENTION POLICIES ON x', 'KILL QUERY 1']) {
    const analysis = statementSources(statement, 'db0');
    assert.deepEqual({ sources: analysis.sources, into: analysis.into, hasFrom: analysis.hasFrom }, { sources: [], into: null, hasFrom: false }, statement);
  }
});

test("sources: malformed sources fail with influxd's messages", () => {
  const failure = (statement: string): string => {
    try {
      statementSources(statement, 'db0');
    } catch (err) {
      assert.ok(err instanceof InfluxqlSyntaxError);
      return err.message;
    }
    return assert.fail(`no error for ${statement}`);
  };
  // All these messages are influxd 1.6.7's (after `error parsing query: `).
  assert.equal(failure('SELECT * FROM'), 'found EOF, expected identifier at line 1, char 15');
  assert.equal(failure('SELECT * FROM a.b.c.d'), 'too many segments in "a"."b"."c".d at line 1, char 1');
  assert.equal(failure('SELECT * FROM "a b".b."".d'), 'too many segments in "a b"."b"..d at line 1, char 1');
  assert.equal(failure('DELETE FROM x..m1'), 'database not supported at line 1, char 1');
  assert.equal(failure('DROP SERIES FROM autogen.m1'), 'retention policy not supported at line 1, char 1');
  assert.equal(failure('SELECT * FROM (SHOW MEASUREMENTS)'), 'found SHOW, expected SELECT at line 1, char 16');
  assert.equal(failure('DELETE m'), 'found m, expected FROM, WHERE at line 1, char 8');
});
