/**
 * The hijack client end to end against a tiny HTTP peer on a unix socket: it answers the
 * upgrade with 101 and two multiplexed frames, as dockerd does for attach (trace 02b).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { ApiClient } from '../../../src/cli/client.js';
import { runSession, EscapeFilter, parseDetachKeys } from '../../../src/cli/attach.js';
import { ApiError } from '../../../src/cli/errors.js';
import { muxFrame } from '../../../src/cli/stdcopy.js';

class Sink extends Writable {
  data = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.data += chunk.toString();
    cb();
  }
}

interface Seen {
  method?: string;
  url?: string;
  headers?: http.IncomingHttpHeaders;
  clientFin: boolean;
  fromClient: string;
}

async function withServer(
  onUpgrade: (socket: Socket, seen: Seen) => void,
  fn: (client: ApiClient, seen: Seen) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-hijack-'));
  const sock = join(dir, 'api.sock');
  const seen: Seen = { clientFin: false, fromClient: '' };
  const server = http.createServer((req, res) => {
    if (req.method === 'HEAD' && req.url === '/_ping') {
      res.writeHead(200, { 'Api-Version': '1.41' });
      res.end();
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: 'No such container: nosuch' }));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    seen.method = req.method;
    seen.url = req.url;
    seen.headers = req.headers;
    socket.on('data', (d: Buffer) => (seen.fromClient += d.toString()));
    socket.on('end', () => (seen.clientFin = true));
    if (req.url?.includes('/nosuch/')) {
      const body = JSON.stringify({ message: 'No such container: nosuch' });
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    onUpgrade(socket, seen);
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const client = new ApiClient({ kind: 'unix', socketPath: sock, url: `unix://${sock}` });
  try {
    await fn(client, seen);
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

test('attach: 101 then two frames are demultiplexed to stdout and stderr; write side half-closed', async () => {
  await withServer(
    (socket) => {
      // The 101 and the first frame in one write: the client must not lose the bytes after the headers.
      socket.write(
        Buffer.concat([
          Buffer.from('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'),
          muxFrame(1, 'out\n'),
        ]),
      );
      setTimeout(() => socket.end(muxFrame(2, 'err\n')), 20);
    },
    async (client, seen) => {
      const h = await client.hijack({
        method: 'POST',
        path: '/containers/abc/attach',
        query: { stream: '1', stdout: '1', stderr: '1' },
      });
      const stdout = new Sink();
      const stderr = new Sink();
      const session = runSession(h, { tty: false, stdin: undefined, stdout, stderr });
      assert.equal(await session.done, 'eof');
      assert.equal(stdout.data, 'out\n');
      assert.equal(stderr.data, 'err\n');
      assert.equal(seen.method, 'POST');
      assert.equal(seen.url, '/v1.41/containers/abc/attach?stderr=1&stdout=1&stream=1');
      assert.equal(seen.headers?.['upgrade'], 'tcp');
      assert.equal(seen.headers?.['connection'], 'Upgrade');
      assert.equal(seen.clientFin, true);
    },
  );
});

test('attach with stdin: input is copied and the write side closed at EOF; TTY output is raw', async () => {
  await withServer(
    (socket) => {
      socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('end', () => socket.end(`echo:${got}`));
    },
    async (client, seen) => {
      const h = await client.hijack({ method: 'POST', path: '/containers/abc/attach', query: { stream: '1', stdin: '1', stdout: '1' } });
      const stdin = new PassThrough();
      const stdout = new Sink();
      const session = runSession(h, { tty: true, stdin, stdout, stderr: new Sink() });
      stdin.write('line1\n');
      stdin.end('line2\n');
      assert.equal(await session.done, 'eof');
      assert.equal(stdout.data, 'echo:line1\nline2\n');
      assert.equal(seen.fromClient, 'line1\nline2\n');
      assert.equal(seen.clientFin, true);
    },
  );
});

test('a 404 instead of 101 becomes ApiError with the daemon message', async () => {
  await withServer(
    () => undefined,
    async (client) => {
      await assert.rejects(
        client.hijack({ method: 'POST', path: '/containers/nosuch/attach', query: { stream: '1' } }),
        (e: unknown) => e instanceof ApiError && e.status === 404 && e.display === 'Error response from daemon: No such container: nosuch',
      );
    },
  );
});

test('connection refused reads as docker does', async () => {
  const client = new ApiClient({ kind: 'unix', socketPath: '/nonexistent/berth.sock', url: 'unix:///nonexistent/berth.sock' });
  await assert.rejects(client.apiVersion(), /^DaemonUnreachableError: Cannot connect to the berth daemon at unix:\/\/\/nonexistent\/berth.sock. Is berthd running\?$/);
  client.close();
});

test('detach keys: ctrl-p,ctrl-q typed key by key detach; other input passes through', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 120]);
  const f = new EscapeFilter([16, 17]);
  assert.deepEqual(f.filter(Buffer.from('ab')), Buffer.from('ab'));
  assert.deepEqual(f.filter(Buffer.from([16])), Buffer.alloc(0));
  assert.deepEqual(f.filter(Buffer.from('z')), Buffer.from([16, 0x7a]));
  assert.deepEqual(f.filter(Buffer.from([16])), Buffer.alloc(0));
  assert.equal(f.filter(Buffer.from([17])), 'detach');
});
