/**
 * Host port reservations for published ports. CNI's portmap only writes DNAT rules — it does
 * not reserve anything, so two containers (or a host service) could silently take the same
 * port. berthd therefore binds each published host port itself and holds the socket while
 * the container runs (Podman hands such sockets to conmon; docker-proxy holds them). The DNAT
 * rules take the traffic before it reaches these sockets; a connection that slips in before
 * the rules exist is closed at once.
 */
import { createServer, isIPv6, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { conflict, errnoCode, errorMessage, invalidArgument } from '../core/errors.js';
import type { PortBindingRequest, PublishedPort } from './types.js';

type Holder = Server | Socket;

export class PortReservations {
  private readonly held = new Map<string, Holder[]>();

  /** Binds every requested port (ephemeral ones get the kernel's choice); all or nothing. */
  async reserve(containerId: string, requests: readonly PortBindingRequest[]): Promise<PublishedPort[]> {
    const holders: Holder[] = [];
    const published: PublishedPort[] = [];
    try {
      for (const request of requests) {
        const hostIp = request.hostIp || '0.0.0.0';
        const { holder, port } = await bindFirstFree(request, hostIp);
        holders.push(holder);
        published.push({ containerPort: request.containerPort, protocol: request.protocol, hostIp, hostPort: port });
      }
    } catch (err) {
      for (const holder of holders) holder.close();
      throw err;
    }
    this.held.set(containerId, [...(this.held.get(containerId) ?? []), ...holders]);
    return published;
  }

  /** After a berthd restart: takes back the exact ports a running container was given. */
  async restore(containerId: string, ports: readonly PublishedPort[]): Promise<void> {
    await this.reserve(
      containerId,
      ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPortStart: p.hostPort, hostPortEnd: p.hostPort })),
    );
  }

  release(containerId: string): void {
    for (const holder of this.held.get(containerId) ?? []) holder.close();
    this.held.delete(containerId);
  }

  releaseAll(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }
}

async function bindFirstFree(request: PortBindingRequest, hostIp: string): Promise<{ holder: Holder; port: number }> {
  if (request.protocol === 'sctp') throw invalidArgument('publishing sctp ports is not supported by berth');
  const candidates: number[] = [];
  if (request.hostPortStart === 0) candidates.push(0);
  else for (let p = request.hostPortStart; p <= request.hostPortEnd; p++) candidates.push(p);
  let lastError: unknown;
  for (const port of candidates) {
    try {
      return request.protocol === 'udp' ? await bindUdp(hostIp, port) : await bindTcp(hostIp, port);
    } catch (err) {
      lastError = err;
      if (errnoCode(err) !== 'EADDRINUSE') break;
    }
  }
  const shown = request.hostPortStart === request.hostPortEnd ? String(request.hostPortStart) : `${request.hostPortStart}-${request.hostPortEnd}`;
  const where = `${isIPv6(hostIp) ? `[${hostIp}]` : hostIp}:${shown}`;
  if (errnoCode(lastError) === 'EADDRINUSE') throw conflict(`Bind for ${where} failed: port is already allocated`);
  if (errnoCode(lastError) === 'EADDRNOTAVAIL') throw invalidArgument(`Bind for ${where} failed: ${hostIp} is not an address of this host`);
  throw invalidArgument(`Bind for ${where} failed: ${errorMessage(lastError)}`);
}

function bindTcp(host: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ host, port, exclusive: true, backlog: 1 }, () => {
      server.off('error', reject);
      server.unref();
      const address = server.address();
      resolve({ holder: server, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}

function bindUdp(host: string, port: number): Promise<{ holder: Holder; port: number }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      socket.unref();
      resolve({ holder: socket, port: socket.address().port });
    });
  });
}
