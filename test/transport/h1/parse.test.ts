/**
 * The member client's response parser is strict: each malformed response below comes from a raw
 * `net` member as bytes on a real socket, and is refused with llhttp's code for the rule, the
 * connection closed. The valid framings (Content-Length, chunked with extensions and trailers,
 * close-delimited, no body for HEAD/204/304, interim 1xx) pass, also fed one byte at a time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { classify } from '../../../src/transport/http/failure.js';
import { MemberPool } from '../../../src/transport/h1/pool.js';
import { RawMember, fetch1 } from '../../support/h1.js';

const member = new RawMember();
let pool: MemberPool;
/** path -> the bytes the member answers with. */
const answers = new Map<string, string | string[]>();

before(async () => {
  await member.listen();
  member.answer = (seen) => {
    const answer = answers.get(seen.path) ?? 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n';
    if (typeof answer === 'string') return void seen.socket.write(answer, 'latin1');
    // Pieces written one after another: the parser must join them.
    const pieces = [...answer];
    const next = (): void => {
      const piece = pieces.shift();
      if (piece === undefined) return;
      if (piece === '<close>') return void seen.socket.end();
      seen.socket.write(piece, 'latin1', () => setImmediate(next));
    };
    next();
  };
  pool = new MemberPool({ origin: member.origin, connections: 8, connectTimeout: 2000, keepAlive: 5000 });
});

after(async () => {
  await pool.destroy();
  await member.close();
});

/** Which connection of the member carried the latest request for `path`. */
const connOf = (path: string): number => member.seen.filter((s) => s.path === path).at(-1)!.conn;

const ok = (extra: string, body = 'hello'): string => `HTTP/1.1 200 OK\r\n${extra}\r\n${body}`;

/** Malformed answers: [name, bytes, llhttp's code, the head reached the handler first]. */
const BAD: [string, string, string, boolean][] = [
  ['Content-Length and Transfer-Encoding both', ok('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_UNEXPECTED_CONTENT_LENGTH', false],
  ['Transfer-Encoding before Content-Length', ok('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_UNEXPECTED_CONTENT_LENGTH', false],
  ['a repeated Content-Length (same value)', ok('Content-Length: 5\r\nContent-Length: 5\r\n'), 'HPE_UNEXPECTED_CONTENT_LENGTH', false],
  ['a Content-Length list', ok('Content-Length: 5, 5\r\n'), 'HPE_INVALID_CONTENT_LENGTH', false],
  ['a signed Content-Length', ok('Content-Length: +5\r\n'), 'HPE_INVALID_CONTENT_LENGTH', false],
  ['a negative Content-Length', ok('Content-Length: -1\r\n'), 'HPE_INVALID_CONTENT_LENGTH', false],
  ['an empty Content-Length', ok('Content-Length:\r\n'), 'HPE_INVALID_CONTENT_LENGTH', false],
  ['a Content-Length with a space inside', ok('Content-Length: 1 2\r\n'), 'HPE_INVALID_CONTENT_LENGTH', false],
  ['a Content-Length past 2^53', ok('Content-Length: 99999999999999999\r\n'), 'HPE_INVALID_CONTENT_LENGTH', false],
  ['a transfer coding other than chunked', ok('Transfer-Encoding: gzip\r\n'), 'HPE_INVALID_TRANSFER_ENCODING', false],
  ['chunked not alone', ok('Transfer-Encoding: gzip, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING', false],
  ['Transfer-Encoding twice', ok('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING', false],
  ['Transfer-Encoding in HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING', false],
  ['a chunk size that is not hex', ok('Transfer-Encoding: chunked\r\n', 'zz\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['a chunk size with 0x', ok('Transfer-Encoding: chunked\r\n', '0x5\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['a chunk size with a space inside', ok('Transfer-Encoding: chunked\r\n', '1 0\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['a chunk size with a trailing space', ok('Transfer-Encoding: chunked\r\n', '5 \r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['a chunk size past 2^53', ok('Transfer-Encoding: chunked\r\n', 'fffffffffffffffff\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['an empty chunk size', ok('Transfer-Encoding: chunked\r\n', '\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['chunk data longer than its size', ok('Transfer-Encoding: chunked\r\n', '3\r\nhello\r\n0\r\n\r\n'), 'HPE_CR_EXPECTED', true],
  ['a bare LF after a chunk size', ok('Transfer-Encoding: chunked\r\n', '5\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['a bare LF after chunk data', ok('Transfer-Encoding: chunked\r\n', '5\r\nhello\n0\r\n\r\n'), 'HPE_CR_EXPECTED', true],
  ['a bare LF in a chunk extension', ok('Transfer-Encoding: chunked\r\n', '5;a=b\nc\r\nhello\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE', true],
  ['a chunk extension over the limit', ok('Transfer-Encoding: chunked\r\n', `5;${'x'.repeat(2000)}\r\nhello\r\n0\r\n\r\n`), 'HPE_CHUNK_EXTENSIONS_OVERFLOW', true],
  ['a bare LF in a trailer', ok('Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\nX-T: 1\n\r\n'), 'HPE_LF_EXPECTED', true],
  ['obs-fold in a trailer', ok('Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n'), 'HPE_INVALID_HEADER_TOKEN', true],
  ['obs-fold', ok('X-A: 1\r\n  folded\r\nContent-Length: 5\r\n'), 'HPE_INVALID_HEADER_TOKEN', false],
  ['bare LFs ending the lines', 'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello', 'HPE_LF_EXPECTED', false],
  ['a bare LF ending one field', 'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 5\r\n\r\nhello', 'HPE_LF_EXPECTED', false],
  ['a bare CR inside a value', ok('X-A: a\rb\r\nContent-Length: 5\r\n'), 'HPE_LF_EXPECTED', false],
  ['whitespace before the colon', ok('Content-Length : 5\r\n'), 'HPE_INVALID_HEADER_TOKEN', false],
  ['a field name with a separator', ok('X(A): 1\r\nContent-Length: 5\r\n'), 'HPE_INVALID_HEADER_TOKEN', false],
  ['an empty field name', ok(': 1\r\nContent-Length: 5\r\n'), 'HPE_INVALID_HEADER_TOKEN', false],
  ['a control byte in a value', ok('X-A: a\x01b\r\nContent-Length: 5\r\n'), 'HPE_INVALID_HEADER_TOKEN', false],
  ['NUL in a value', ok('X-A: a\x00b\r\nContent-Length: 5\r\n'), 'HPE_INVALID_HEADER_TOKEN', false],
  ['DEL in the reason phrase', 'HTTP/1.1 200 O\x7fK\r\nContent-Length: 5\r\n\r\nhello', 'HPE_INVALID_STATUS', false],
  ['a status that is not three digits', 'HTTP/1.1 20 OK\r\nContent-Length: 5\r\n\r\nhello', 'HPE_INVALID_STATUS', false],
  ['a status run into its reason', 'HTTP/1.1 200OK\r\nContent-Length: 5\r\n\r\nhello', 'HPE_INVALID_STATUS', false],
  ['HTTP/2.0 on an HTTP/1.1 connection', 'HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello', 'HPE_INVALID_CONSTANT', false],
  ['HTTP/1.2', 'HTTP/1.2 200 OK\r\nContent-Length: 5\r\n\r\nhello', 'HPE_INVALID_VERSION', false],
  ['not HTTP at all', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', 'HPE_INVALID_CONSTANT', false],
  ['an empty line first', '\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', 'HPE_INVALID_CONSTANT', false],
  ['101 Switching Protocols unasked', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', 'HPE_INVALID_STATUS', false],
  ['a head over 16 KiB', ok(`X-Big: ${'b'.repeat(17 * 1024)}\r\nContent-Length: 5\r\n`), 'HPE_HEADER_OVERFLOW', false],
  ['more than 256 fields', ok(`${'X-N: 1\r\n'.repeat(300)}Content-Length: 5\r\n`), 'HPE_HEADER_OVERFLOW', false],
];

describe('malformed responses are refused', () => {
  for (const [name, bytes, code, headed] of BAD) {
    test(`${name}: ${code}`, async () => {
      const path = `/bad/${encodeURIComponent(name)}`;
      answers.set(path, bytes);
      const got = await fetch1(pool, path);
      assert.equal(got.error?.code, code, got.error?.message ?? `answered ${got.status}`);
      assert.equal(got.headed, headed, headed ? 'the head was good; the body failed' : 'nothing reached the handler');
      // What classify() makes of it: a network error of a request that did arrive, as undici's parser errors.
      const failure = classify(got.error, { node: 'm', connectTimeout: 1, responseTimeout: 1 });
      assert.equal(failure.result.code, 'SKT_CLIENT_NETWORK');
      assert.equal(failure.sent, true);
      // The connection is not used again: the next request goes on another.
      assert.equal((await fetch1(pool, '/none')).status, 404);
      assert.notEqual(connOf('/none'), connOf(path));
    });
  }
});

describe('valid framings', () => {
  test('Content-Length: the body, then the connection is reused', async () => {
    answers.set('/cl', ok('Content-Length: 5\r\nX-Multi: a\r\nx-multi:  b \r\n'));
    const a = await fetch1(pool, '/cl');
    assert.equal(a.status, 200);
    assert.equal(a.reason, 'OK');
    assert.equal(a.body.toString(), 'hello');
    assert.deepEqual(a.headers, ['Content-Length', '5', 'X-Multi', 'a', 'x-multi', 'b']);
    const first = connOf('/cl');
    assert.equal((await fetch1(pool, '/cl')).body.toString(), 'hello');
    assert.equal(connOf('/cl'), first, 'kept alive');
  });

  test('chunked, with extensions and trailers, one byte per write', async () => {
    const bytes = ok('Transfer-Encoding: Chunked\r\n', '5;name="v a";x\r\nhello\r\n0006\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n');
    answers.set('/chunked-bytes', [...bytes]);
    const got = await fetch1(pool, '/chunked-bytes');
    assert.equal(got.error, undefined);
    assert.equal(got.body.toString(), 'hello world');
    const first = connOf('/chunked-bytes');
    assert.equal((await fetch1(pool, '/chunked-bytes')).body.toString(), 'hello world');
    assert.equal(connOf('/chunked-bytes'), first, 'kept alive after the trailers');
  });

  test('no length: the body runs to the close (HTTP/1.1 and 1.0)', async () => {
    answers.set('/eof11', ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the ', 'end', '<close>']);
    answers.set('/eof10', ['HTTP/1.0 200 OK\r\n\r\nold ', 'style', '<close>']);
    assert.equal((await fetch1(pool, '/eof11')).body.toString(), 'to the end');
    assert.equal((await fetch1(pool, '/eof10')).body.toString(), 'old style');
  });

  test('HTTP/1.0 keeps the connection only when it says keep-alive; Connection: close ends any', async () => {
    answers.set('/10ka', 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok');
    answers.set('/10', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
    answers.set('/11close', 'HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 2\r\n\r\nok');
    await fetch1(pool, '/10ka');
    await fetch1(pool, '/10ka');
    assert.equal(connOf('/10ka'), member.seen.filter((s) => s.path === '/10ka').at(-2)!.conn, 'kept');
    for (const path of ['/10', '/11close']) {
      await fetch1(pool, path);
      await fetch1(pool, path);
      assert.notEqual(connOf(path), member.seen.filter((s) => s.path === path).at(-2)!.conn, `${path} not kept`);
    }
  });

  test('a close before the end of a Content-Length body is a failure after the head', async () => {
    answers.set('/short', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf', '<close>']);
    const got = await fetch1(pool, '/short');
    assert.equal(got.headed, true);
    assert.equal(got.error?.code, 'H1_SOCKET');
  });

  test('HEAD, 204 and 304 have no body, whatever their head says', async () => {
    answers.set('/head', 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
    answers.set('/204', 'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n');
    answers.set('/304', 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n');
    const head = await fetch1(pool, '/head', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    const used = new Set<number>();
    for (const path of ['/204', '/304', '/204']) {
      assert.equal((await fetch1(pool, path)).body.length, 0);
      used.add(connOf(path));
    }
    assert.equal(used.size, 1, '204 and 304 keep the connection');
    assert.ok(!used.has(connOf('/head')), 'a HEAD answer closes its connection (as undici does)');
  });

  test('100 Continue and 103 Early Hints are skipped: the final response is reported', async () => {
    answers.set('/interim', ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n', ok('Content-Length: 5\r\n')]);
    const got = await fetch1(pool, '/interim');
    assert.equal(got.status, 200);
    assert.deepEqual(got.headers, ['Content-Length', '5']);
    assert.equal(got.body.toString(), 'hello');
  });

  test('bytes after a complete response: the answer stands, the connection is dropped', async () => {
    answers.set('/extra', ok('Content-Length: 5\r\n', 'helloHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    assert.equal((await fetch1(pool, '/extra')).body.toString(), 'hello');
    assert.equal((await fetch1(pool, '/none')).status, 404);
    assert.notEqual(connOf('/none'), connOf('/extra'));
  });
});
