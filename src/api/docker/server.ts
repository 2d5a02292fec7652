/** The Docker Engine API server on unix sockets. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, rm, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { errorMessage, invalidArgument, notFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { Engine } from '../../engine/engine.js';
import { API_VERSION, checkApiVersion, commonHeaders, readUpgradeBody, Router, sendError, sendJson, type RequestContext, type Upgrade } from './http.js';
import { registerSystemRoutes } from './routes-system.js';
import { registerImageRoutes } from './routes-images.js';
import { registerContainerRoutes } from './routes-containers.js';
import { registerExecRoutes } from './routes-exec.js';
import { registerNetworkRoutes } from './routes-networks.js';
import { registerVolumeRoutes } from './routes-volumes.js';
import { registerEventRoutes } from './routes-events.js';
import { registerStatsRoutes } from './routes-stats.js';
import { registerArchiveRoutes } from './routes-archive.js';
import { registerImageArchiveRoutes } from './routes-image-archive.js';
import { registerDiskUsageRoutes } from './routes-disk-usage.js';

const log = logger('api');

export class DockerApiServer {
  private readonly router = new Router();
  private readonly servers: Server[] = [];
  /** Hijacked connections are no longer the HTTP server's: they are tracked to be closed on shutdown. */
  private readonly hijacked = new Set<Duplex>();

  constructor(engine: Engine) {
    registerSystemRoutes(this.router, engine);
    registerImageRoutes(this.router, engine);
    registerContainerRoutes(this.router, engine);
    registerExecRoutes(this.router, engine);
    registerNetworkRoutes(this.router, engine);
    registerVolumeRoutes(this.router, engine);
    registerEventRoutes(this.router, engine);
    registerStatsRoutes(this.router, engine);
    registerArchiveRoutes(this.router, engine);
    registerImageArchiveRoutes(this.router, engine);
    registerDiskUsageRoutes(this.router, engine);
  }

  async listen(hosts: string[]): Promise<void> {
    for (const host of hosts) {
      if (!host.startsWith('unix://')) throw invalidArgument(`unsupported host ${host}: only unix:// sockets are served`);
      const path = host.slice('unix://'.length);
      await mkdir(dirname(path), { recursive: true });
      await rm(path, { force: true });
      const server = createServer({ keepAlive: true }, (req, res) => void this.handle(req, res));
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        this.hijacked.add(socket);
        socket.on('close', () => this.hijacked.delete(socket));
        const res = new ServerResponseShim(socket);
        const length = Number(req.headers['content-length'] ?? 0);
        void readUpgradeBody(socket, head, Number.isFinite(length) && length > 0 ? length : 0).then(
          ({ body, head: rest }) => this.handle(req, res as unknown as ServerResponse, { socket, head: rest, body }),
          (err: unknown) => res.fail(err),
        );
      });
      server.on('clientError', (_err, socket) => socket.destroy());
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      await chmod(path, 0o660);
      this.servers.push(server);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.hijacked) socket.destroy();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse, upgrade?: Upgrade): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://berth');
    let path = url.pathname;
    let apiVersion = API_VERSION;
    const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    try {
      if (versioned) {
        apiVersion = versioned[1] as string;
        path = versioned[2] as string;
        checkApiVersion(apiVersion);
      }
      const match = this.router.match(req.method ?? 'GET', path);
      if (match === undefined) throw notFound(`page not found`);
      if (match === 'method') {
        sendJson(res, 405, { message: `method ${req.method} not allowed for ${path}` });
        return;
      }
      const ctx: RequestContext = { req, res, params: match.params, query: url.searchParams, apiVersion, ...(upgrade ? { upgrade } : {}) };
      log.debug('request', { method: req.method, path });
      await match.handler(ctx);
      log.debug('done', { method: req.method, path });
    } catch (err) {
      if (!(err instanceof Error && 'code' in err)) log.error('request failed', { method: req.method, path, error: errorMessage(err) });
      if (upgrade) (res as unknown as ServerResponseShim).fail(err);
      else sendError(res, err);
    }
  }
}

/**
 * On an upgrade request Node hands over the raw socket; this gives handlers that fail
 * before hijacking the same `writeHead`/`end` they use on ordinary responses.
 */
class ServerResponseShim {
  headersSent = false;

  constructor(private readonly socket: Duplex) {}

  writeHead(status: number, headers: Record<string, string | number> = {}): this {
    this.headersSent = true;
    const lines = Object.entries({ ...commonHeaders(), ...headers }).map(([k, v]) => `${k}: ${v}`);
    this.socket.write(`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n`);
    return this;
  }

  end(body?: string): void {
    if (body) this.socket.write(body);
    this.socket.end();
  }

  fail(err: unknown): void {
    if (this.headersSent) {
      this.socket.destroy();
      return;
    }
    sendError(this as unknown as ServerResponse, err);
  }
}
