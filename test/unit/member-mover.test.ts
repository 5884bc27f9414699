import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lostMarks, type ReportedUnit } from '../../src/agent/moves/member-mover.ts';

const key = (move: string, database: string, measurement: string) => `${move}\u0000${database}\u0000${measurement}`;

test('a unit reported copied that the document shows copying again, a while after the report, is reported again', () => {
  const reported = new Map<string, ReportedUnit>([
    [key('mv1', 'db', 'a'), { database: 'db', measurement: 'a', points: 10, at: 1000 }],
    [key('mv1', 'db', 'b'), { database: 'db', measurement: 'b', points: 20, at: 9000 }],
    [key('mv0', 'db', 'c'), { database: 'db', measurement: 'c', points: 30, at: 1000 }],
  ]);
  const pending = [
    { database: 'db', measurement: 'a' }, // reported long ago: the mark was lost
    { database: 'db', measurement: 'b' }, // reported just now: the document may predate the report
    { database: 'db', measurement: 'c' }, // reported for another move
    { database: 'db', measurement: 'd' }, // never reported here
  ];
  assert.deepEqual(lostMarks(reported, pending, 'mv1', 5000), [{ database: 'db', measurement: 'a', points: 10 }]);
  assert.deepEqual(lostMarks(reported, pending, 'mv1', 9000), [
    { database: 'db', measurement: 'a', points: 10 },
    { database: 'db', measurement: 'b', points: 20 },
  ]);
  assert.deepEqual(lostMarks(reported, [], 'mv1', 9000), [], 'nothing pending: nothing lost');
});
