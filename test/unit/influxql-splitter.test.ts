import assert from 'node:assert/strict';
import { test } from 'node:test';
import { locateStatements, splitStatements } from '../../src/influxql/influxql-splitter.ts';

test('splitter: trims, drops empty statements, keeps the original text', () => {
  assert.deepEqual(splitStatements('SHOW DATABASES'), ['SHOW DATABASES']);
  assert.deepEqual(splitStatements('  SHOW DATABASES ;\n\tshow   USERS;  '), ['SHOW DATABASES', 'show   USERS']);
  assert.deepEqual(splitStatements(';;  ; CREATE DATABASE x;;;DROP DATABASE y;'), ['CREATE DATABASE x', 'DROP DATABASE y']);
  assert.deepEqual(splitStatements(''), []);
  assert.deepEqual(splitStatements(' ; \n ; '), []);
  assert.deepEqual(splitStatements('SELECT a\r\nFROM m;\r\nSHOW USERS'), ['SELECT a\r\nFROM m', 'SHOW USERS']);
});

test('splitter: a ; inside strings and quoted identifiers does not split', () => {
  assert.deepEqual(splitStatements("SELECT * FROM m WHERE t = 'a;b'; SHOW USERS"), ["SELECT * FROM m WHERE t = 'a;b'", 'SHOW USERS']);
  assert.deepEqual(splitStatements("SELECT * FROM m WHERE t = 'it\\'s; fine' ; SHOW USERS"), ["SELECT * FROM m WHERE t = 'it\\'s; fine'", 'SHOW USERS']);
  assert.deepEqual(splitStatements("CREATE USER u WITH PASSWORD 'p;w\\\\';DROP USER u"), ["CREATE USER u WITH PASSWORD 'p;w\\\\'", 'DROP USER u']);
  assert.deepEqual(splitStatements('CREATE DATABASE "a;b";DROP DATABASE "c\\";d"'), ['CREATE DATABASE "a;b"', 'DROP DATABASE "c\\";d"']);
  assert.deepEqual(splitStatements(`SELECT "it's" FROM "x;'y"; SHOW USERS`), [`SELECT "it's" FROM "x;'y"`, 'SHOW USERS']);
  assert.deepEqual(splitStatements("SELECT 'a /* b' FROM m; SELECT '-- c;' FROM m"), ["SELECT 'a /* b' FROM m", "SELECT '-- c;' FROM m"]);
});

test('splitter: a quoted string ends at a newline, as influxd scans it', () => {
  // influxd reads the first string as BADSTRING (the statement fails there) and the ; as a separator.
  assert.deepEqual(splitStatements("SELECT 'abc\n; SHOW USERS"), ["SELECT 'abc", 'SHOW USERS']);
  assert.deepEqual(splitStatements('DROP USER "abc\r\n;SHOW USERS'), ['DROP USER "abc', 'SHOW USERS']);
});

test('splitter: regex literals hide ; where a regex may start, / divides after an operand', () => {
  assert.deepEqual(splitStatements('SELECT * FROM /a;b/; SHOW USERS'), ['SELECT * FROM /a;b/', 'SHOW USERS']);
  assert.deepEqual(splitStatements('SELECT * FROM m WHERE h =~ /x;y/ AND h !~ /;/;SHOW USERS'), ['SELECT * FROM m WHERE h =~ /x;y/ AND h !~ /;/', 'SHOW USERS']);
  assert.deepEqual(splitStatements('SELECT * FROM a, /b;c/ GROUP BY /d;e/;X'), ['SELECT * FROM a, /b;c/ GROUP BY /d;e/', 'X']);
  assert.deepEqual(splitStatements('SELECT /;/ FROM "db"."rp"./m;x/ ; X'), ['SELECT /;/ FROM "db"."rp"./m;x/', 'X']);
  assert.deepEqual(splitStatements('SELECT top(/;/, 1) FROM m;X'), ['SELECT top(/;/, 1) FROM m', 'X']);
  assert.deepEqual(splitStatements('SHOW MEASUREMENTS WITH MEASUREMENT =~ /c;d/;X'), ['SHOW MEASUREMENTS WITH MEASUREMENT =~ /c;d/', 'X']);
  assert.deepEqual(splitStatements('SELECT * FROM m WHERE u =~ /http:\\/\\/a;b/;X'), ['SELECT * FROM m WHERE u =~ /http:\\/\\/a;b/', 'X']);
  // Division: after a name, a number, a quoted name, a call, a string, a wildcard.
  assert.deepEqual(splitStatements('SELECT a / 2 FROM m; SELECT 1;X / 2'), ['SELECT a / 2 FROM m', 'SELECT 1', 'X / 2']);
  assert.deepEqual(splitStatements('SELECT count(a) / 4 / 2; X'), ['SELECT count(a) / 4 / 2', 'X']);
  assert.deepEqual(splitStatements('SELECT "a"/2;SELECT a/b/c FROM m;X'), ['SELECT "a"/2', 'SELECT a/b/c FROM m', 'X']);
  assert.deepEqual(splitStatements('SELECT 10s/2;SELECT * / 2;X'), ['SELECT 10s/2', 'SELECT * / 2', 'X']);
  // A regex ends at a newline, as in influxd.
  assert.deepEqual(splitStatements('SELECT * FROM /abc\n;X'), ['SELECT * FROM /abc', 'X']);
});

test('splitter: comments hide ; and comment-only statements disappear', () => {
  assert.deepEqual(splitStatements('SHOW DATABASES -- list; them\n; SHOW USERS'), ['SHOW DATABASES', 'SHOW USERS']);
  assert.deepEqual(splitStatements('SHOW /* a ; b */ DATABASES; /* only ; a comment */ ; -- trailing ;'), ['SHOW /* a ; b */ DATABASES']);
  assert.deepEqual(splitStatements('-- first\nSHOW USERS -- second\r\n;/*x*/SHOW DATABASES/*y*/'), ['SHOW USERS', 'SHOW DATABASES']);
  assert.deepEqual(splitStatements('SELECT a - -1 FROM m;SELECT a--1;\nFROM m'), ['SELECT a - -1 FROM m', 'SELECT a--1;\nFROM m']);
  // An unterminated /* stays in its statement, so that it fails like it does in influxd.
  assert.deepEqual(splitStatements('SHOW DATABASES /* oops; SHOW USERS'), ['SHOW DATABASES /* oops; SHOW USERS']);
});

test('splitter: unicode, unterminated literals and awkward input', () => {
  assert.deepEqual(splitStatements('CREATE DATABASE "😀;é";DROP DATABASE "ü"'), ['CREATE DATABASE "😀;é"', 'DROP DATABASE "ü"']);
  assert.deepEqual(splitStatements("SELECT 'never closed; SHOW USERS"), ["SELECT 'never closed; SHOW USERS"]);
  assert.deepEqual(splitStatements('SELECT * FROM /never closed; SHOW USERS'), ['SELECT * FROM /never closed; SHOW USERS']);
  assert.deepEqual(splitStatements("x'\\"), ["x'\\"]);
  assert.deepEqual(splitStatements('/'), ['/']);
  assert.deepEqual(splitStatements('/ ; /'), ['/', '/']);
});

test('locateStatements: positions count code points and CRLF like influxd', () => {
  const located = locateStatements('SHOW USERS;\r\n  /* c */ DROP USER "😀" ;\n\nSHOW DATABASES');
  assert.deepEqual(
    located.map((s) => [s.text, s.start, s.from, s.to]),
    [
      ['SHOW USERS', { line: 0, char: 0 }, 0, 10],
      ['DROP USER "😀"', { line: 1, char: 10 }, 23, 38],
      ['SHOW DATABASES', { line: 3, char: 0 }, 41, 55],
    ],
  );
  const afterEmoji = locateStatements('SELECT "😀😀";SHOW USERS');
  assert.deepEqual(afterEmoji[1]?.start, { line: 0, char: 12 });
});

// How fast (10 MB in well under a second) is measured by `npm run bench:split`: a wall-clock
// assertion here would fail on a loaded machine. A backtracking trap still shows as a test timeout.
test('splitter: 10 MB and pathological inputs split correctly, no backtracking traps', () => {
  const parts = [
    "SELECT mean(\"value\") / 2 FROM \"cpu\" WHERE host =~ /web;[0-9]+/ AND region = 'us;west' -- c;\n",
    '/* x; */ SHOW DATABASES',
    'SELECT a/b/c FROM m',
  ];
  let query = '';
  let count = 0;
  for (; query.length < 10_000_000; count++) query += parts[count % parts.length] + ';';
  const statements = splitStatements(query);
  assert.equal(statements.length, count);
  assert.equal(statements[0], parts[0]!.replace(' -- c;\n', ''));
  assert.equal(statements[1], 'SHOW DATABASES');

  // Pathological inputs: long unterminated literals, runs of slashes, comment openers, backslashes.
  for (const nasty of ["'" + "\\'".repeat(2_000_000), 'SELECT ' + '/'.repeat(5_000_000), '/*'.repeat(2_500_000), '"' + '\\'.repeat(5_000_000)]) {
    assert.ok(splitStatements(nasty).length <= 1);
  }
});
