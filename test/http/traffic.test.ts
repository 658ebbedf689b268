import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import type { Tunnel } from '../../src/http/handler.js';
import type { AccessLog, AccessRecord } from '../../src/log/access.js';
import { RouteTable } from '../../src/http/routes.js';
import { Engine } from '../../src/http/server.js';
import { Logger } from '../../src/log/logger.js';
import { settle } from '../support/until.js';

test('a CONNECT whose client left before the tunnel was set up (done(0)) counts as aborted (status page and access log); in flight goes back to 0', async () => {
  const config = parseConfigText('[server]\nip = 127.0.0.1\nport = 0\naccess_log = off\n', '', process.cwd());
  const logger = new Logger({ write() {}, reopen() {}, async close() {} }, true);
  // What the forward proxy does when the client closes before the target answered.
  const tunnel = {
    name: 'test',
    connect: (t: Tunnel): void => {
      t.socket.once('close', () => t.done(0, 0, 0));
      t.socket.once('end', () => t.socket.destroy()).resume();
    },
  };
  const lines: AccessRecord[] = [];
  const accessLog = { write: (r: AccessRecord) => void lines.push({ ...r }) } as unknown as AccessLog;
  const engine = new Engine({ config: config.server, routes: new RouteTable(), tunnel, logger, accessLog });
  const { port } = await engine.listen();
  try {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n'));
    await settle(() => engine.traffic().requests.inFlight, (n) => n === 1, 'the CONNECT in flight');
    socket.destroy();
    const r = await settle(() => engine.traffic().requests, (t) => t.inFlight === 0 && lines.length > 0, 'in flight back to 0 and the access line');
    assert.equal(r.inFlight, 0);
    assert.equal(r.total, 1);
    assert.equal(r.aborted, 1, 'the request is accounted for');
    assert.equal(Object.values(r.byStatus).reduce((a, b) => a + b, 0), 0, 'no answer was sent: no status class');
    assert.deepEqual(lines.map((l) => [l.method, l.status, l.aborted]), [['CONNECT', 0, true]], 'the access line says so too');
  } finally {
    await engine.close(100);
  }
});
