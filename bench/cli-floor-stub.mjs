#!/usr/bin/env node
// The docker CLI's own floor for `run --rm IMAGE true` and `exec CTR true`: an engine that runs
// nothing and answers every request of those two commands at once, in the order and format
// dockerd does (see ../shared/reference/docker-api-traces/02a-run-rm-echo.log). What the
// docker CLI takes against it is its start-up, its requests and its exit; what it takes against
// a real engine on top of that is the engine's and the runtime's.
//
//   node bench/cli-floor-stub.mjs SOCKET     (serves until SIGTERM)
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';

const socket = process.argv[2];
if (!socket) {
  console.error('usage: cli-floor-stub.mjs SOCKET');
  process.exit(2);
}

const ID = 'f'.repeat(64);
const headers = { 'Api-Version': '1.50', 'Content-Type': 'application/json', Ostype: 'linux', 'Docker-Experimental': 'false', Server: 'Docker/stub (linux)' };
// The attach stream and the wait response of the one container being run, released by its start.
const pending = { attach: undefined, wait: undefined };

const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
};

const server = createServer((req, res) => {
  const path = (req.url ?? '').replace(/^\/v[0-9.]+/, '').split('?')[0];
  req.resume();
  if (path === '/_ping') {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': req.method === 'HEAD' ? 0 : 2 });
    return res.end(req.method === 'HEAD' ? undefined : 'OK');
  }
  if (req.method === 'POST' && path === '/containers/create') return json(res, 201, { Id: ID, Warnings: [] });
  if (req.method === 'POST' && path.endsWith('/wait')) {
    res.writeHead(200, { ...headers, 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    pending.wait = res;
    return undefined;
  }
  if (req.method === 'POST' && path.endsWith('/start')) {
    res.writeHead(204, headers);
    res.end();
    pending.attach?.end();
    pending.wait?.end('{"Error":null,"StatusCode":0}\n');
    pending.attach = pending.wait = undefined;
    return undefined;
  }
  if (req.method === 'GET' && path.startsWith('/containers/') && path.endsWith('/json')) return json(res, 200, { Id: ID, State: { Running: true }, Config: { Tty: false } });
  if (req.method === 'POST' && path.endsWith('/exec')) return json(res, 201, { Id: ID });
  if (req.method === 'GET' && path === `/exec/${ID}/json`) return json(res, 200, { ID, Running: false, ExitCode: 0, Pid: 0, ContainerID: ID });
  return json(res, 404, { message: `stub: ${req.method} ${path} is not served` });
});

// Hijacked streams: a container's attach (ended by its start) and an exec's start (ended at once).
server.on('upgrade', (req, sock) => {
  const path = (req.url ?? '').replace(/^\/v[0-9.]+/, '').split('?')[0];
  sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  sock.on('error', () => undefined);
  if (path.startsWith('/exec/')) sock.end();
  else pending.attach = sock;
});

rmSync(socket, { force: true });
server.listen(socket);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
