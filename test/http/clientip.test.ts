import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { peerOf } from '../../src/http/clientip.js';

test('peerOf: the socket peer, IPv4-mapped addresses unmapped, still known once the socket is gone', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  try {
    const { port } = server.address() as net.AddressInfo;
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect(port, '127.0.0.1');
    const socket = await accepted;
    assert.equal(socket.remoteAddress, '::ffff:127.0.0.1', 'a dual-stack listener sees the mapped form');
    assert.equal(peerOf(socket), '127.0.0.1');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    client.destroy();
    socket.destroy();
    await closed;
    assert.equal(peerOf(socket), '127.0.0.1', 'kept from the first read');
    assert.equal(peerOf(new net.Socket()), '', 'a socket never connected has no peer');
  } finally {
    server.close();
  }
});
