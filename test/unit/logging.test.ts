import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createLogger, recentProblemsOf, type Logger, type LogLevel } from '../../src/shared/logging.ts';

/** A logger whose lines are collected, parsed. */
function collecting(level: LogLevel = 'trace', format: 'json' | 'pretty' = 'json'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level, format, destination }), lines };
}

/** The same calls through pino configured as the logger was before it (tests only: pino is a dev dependency). */
function pinoLines(calls: (logger: Logger) => void): string[] {
  const lines: string[] = [];
  const destination = { write: (line: string) => lines.push(...line.split('\n').filter(Boolean)) };
  const paths = ['authorization', 'password', 'token', 'secret', 'p', '*.authorization', '*.password', '*.token', '*.secret', '*.p', 'headers.authorization', 'req.headers.authorization'];
  calls(pino({ level: 'trace', base: { pid: process.pid }, redact: { paths, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime }, destination) as unknown as Logger);
  return lines;
}

const withoutTime = (line: string) => {
  const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
  assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return rest;
};

test('log lines are what pino wrote: level, pid, bindings, fields, msg; credentials redacted; err serialized', () => {
  const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const calls = (logger: Logger) => {
    const child = logger.child({ component: 'proxy', node: 'n1' });
    child.info('plain message');
    child.warn({ reason: 'influxd down', attempts: 3 }, 'cannot write');
    child.debug({ authorization: 'Basic abc', headers: { authorization: 'Bearer x', accept: '*/*' }, req: { headers: { authorization: 'y' } }, user: { name: 'u', password: 'pw', p: 'x' } }, 'secrets');
    child.error({ err }, 'failed');
    child.child({ database: 'db' }).trace({ skipped: undefined, n: 0 }, 'nested child');
    logger.info({ only: 'fields' });
  };
  const ours = collecting();
  calls(ours.logger);
  const theirs = pinoLines(calls);
  assert.equal(ours.lines.length, 6);
  assert.deepEqual(ours.lines.map(withoutTime), theirs.map(withoutTime));
  assert.doesNotMatch(ours.lines.join('\n'), /Basic abc|Bearer x|"pw"/);
});

test('levels below the threshold are skipped; silent writes nothing', () => {
  const info = collecting('info');
  info.logger.debug('hidden');
  info.logger.child({ component: 'x' }).trace('hidden');
  info.logger.info('shown');
  assert.deepEqual(info.lines.map((line) => JSON.parse(line).msg), ['shown']);
  const silent = collecting('silent');
  silent.logger.fatal('nothing');
  assert.deepEqual(silent.lines, []);
});

test('a logged object is not changed by redaction; cycles and bigints do not throw', () => {
  const { logger, lines } = collecting();
  const fields: Record<string, unknown> = { token: 't0k3n', headers: { authorization: 'a' }, big: 12n };
  fields['self'] = fields;
  logger.info(fields, 'odd values');
  assert.equal(fields['token'], 't0k3n');
  assert.deepEqual(fields['headers'], { authorization: 'a' });
  const record = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(record['token'], '[redacted]');
  assert.equal(record['big'], 12);
  assert.deepEqual(record['headers'], { authorization: '[redacted]' });
});

test('pretty lines and recent problems', () => {
  const { logger, lines } = collecting('info', 'pretty');
  logger.child({ component: 'mirror', node: 'pretty-node' }).warn({ reason: 'influxd refused', version: 7 }, 'cannot apply');
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} WARN  \[mirror\] cannot apply node=pretty-node reason=influxd refused version=7$/);
  assert.match(recentProblemsOf('pretty-node')[0]!, /mirror: cannot apply: influxd refused$/);
});
