import assert from 'node:assert/strict';
import { test } from 'node:test';
import { continuousQueryProblem } from '../../src/influxql/continuous-query-check.ts';

const CQ = 'CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO m2 FROM m GROUP BY time(1h) END';

test('a stored continuous query must be exactly its own CREATE CONTINUOUS QUERY', () => {
  assert.equal(continuousQueryProblem(CQ, 'db', 'cq'), undefined);
  assert.equal(continuousQueryProblem(CQ.replace('cq ON db', '"cq" ON "db"'), 'db', 'cq'), undefined);
  assert.match(continuousQueryProblem("CREATE USER x WITH PASSWORD 'y' WITH ALL PRIVILEGES", 'db', 'cq')!, /must be a CREATE CONTINUOUS QUERY statement/);
  assert.match(continuousQueryProblem(`${CQ}; DROP DATABASE db`, 'db', 'cq')!, /found 2 statements/);
  assert.match(continuousQueryProblem(CQ, 'other', 'cq')!, /is ON "db", not on its own database "other"/);
  assert.match(continuousQueryProblem(CQ, 'db', 'other')!, /creates "cq", not "other"/);
  assert.match(continuousQueryProblem(CQ.replace(' END', ''), 'db', 'cq')!, /does not parse: found EOF, expected END/);
  assert.match(continuousQueryProblem('', 'db', 'cq')!, /found 0 statements/);
});
