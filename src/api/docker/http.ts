/** HTTP plumbing for the Docker API: routing, JSON bodies, the one error → status table. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BerthError, invalidArgument, type ErrorCode } from '../../core/errors.js';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

const statusByCode: Record<ErrorCode, number> = {
  'not-found': 404,
  'already-exists': 409,
  conflict: 409,
  'invalid-argument': 400,
  'failed-precondition': 412,
  forbidden: 403,
  unauthorized: 401,
  unavailable: 503,
  'not-implemented': 501,
  internal: 500,
};

export function statusFor(err: unknown): number {
  if (err instanceof BerthError) {
    // A digest mismatch while pulling is the registry's fault, not a precondition of the request.
    return err.code === 'failed-precondition' ? 500 : statusByCode[err.code];
  }
  return 500;
}

/**
 * A request that asked for `Upgrade: tcp`: its body (Node does not parse bodies of upgrade
 * requests), and the raw socket with whatever the client sent after the body in `head`.
 */
export interface Upgrade {
  socket: Duplex;
  head: Buffer;
  body: Buffer;
}

/**
 * Separates an upgrade request's Content-Length body from the stream bytes that follow it.
 * The socket is left paused; whoever reads the stream resumes it.
 */
export async function readUpgradeBody(socket: Duplex, head: Buffer, length: number, limit = 1024 * 1024): Promise<{ body: Buffer; head: Buffer }> {
  // Nothing may be consumed before the handler listens: a client that sends its stdin and
  // half-closes at once would otherwise lose its EOF to a flowing socket nobody reads.
  socket.pause();
  if (length > limit) throw invalidArgument(`request body larger than ${limit} bytes`);
  let buffered = head;
  if (buffered.length < length) {
    buffered = await new Promise<Buffer>((resolve, reject) => {
      const chunks = [head];
      let size = head.length;
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= length) {
          cleanup();
          resolve(Buffer.concat(chunks));
        }
      };
      const onEnd = (): void => {
        cleanup();
        reject(invalidArgument('connection closed before the request body was complete'));
      };
      const cleanup = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('error', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('error', onEnd);
      // A 'data' listener does not restart a stream paused explicitly: without this, a body
      // that arrives after the headers (not in `head`) is never read and the request hangs.
      socket.resume();
    });
  }
  return { body: buffered.subarray(0, length), head: buffered.subarray(length) };
}

/** What a handler sees: the path parameters, the query, and lazily the JSON body. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
  apiVersion: string;
  /** Set when the client asked to upgrade the connection (attach, exec start). */
  upgrade?: Upgrade;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): void {
    // `{name}` matches one segment; `{name*}` matches the rest (image names contain slashes).
    const source = path.replace(/\{[a-zA-Z]+\*\}/g, '(.+)').replace(/\{[a-zA-Z]+\}/g, '([^/]+)');
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), handler });
  }

  match(method: string, path: string): { handler: Handler; params: string[] } | 'method' | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { handler: route.handler, params: m.slice(1).map((p) => decodeURIComponent(p)) };
      }
    }
    return pathMatched ? 'method' : undefined;
  }
}

export function commonHeaders(): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `berth/0.1.0 (linux)`,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonText(res, status, JSON.stringify(body));
}

/** A body already serialized as JSON (see container-list.ts). */
export function sendJsonText(res: ServerResponse, status: number, json: string): void {
  const bytes = Buffer.from(json + '\n');
  res.writeHead(status, { ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': bytes.length });
  res.end(bytes);
}

export function sendEmpty(res: ServerResponse, status = 204): void {
  res.writeHead(status, commonHeaders());
  res.end();
}

export function sendError(res: ServerResponse, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, statusFor(err), { message });
}

/** The request's JSON body; for an upgraded request, the body split off the raw stream. */
export async function readJsonBody<T>(req: IncomingMessage, limit = 8 * 1024 * 1024, upgrade?: Upgrade): Promise<T | undefined> {
  let raw: Buffer;
  if (upgrade) {
    raw = upgrade.body;
  } else {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw invalidArgument(`request body larger than ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
    raw = Buffer.concat(chunks);
  }
  const text = raw.toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalidArgument(`invalid JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Docker's boolean query parameters: 1/true/True; absent or 0/false → false. */
export function queryBool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null) return false;
  if (['1', 'true', 'True', 'TRUE', 't', 'yes'].includes(v)) return true;
  if (['', '0', 'false', 'False', 'FALSE', 'f', 'no'].includes(v)) return false;
  throw invalidArgument(`invalid value for ${name}: ${v}`);
}

export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalidArgument(`invalid value for ${name}: ${v} is not an integer`);
  return Number(v);
}

/** Client versions from v1.24 up to ours; older or newer is refused as dockerd does. */
export function checkApiVersion(version: string): void {
  const [maj, min] = version.split('.').map(Number);
  const [lmaj, lmin] = MIN_API_VERSION.split('.').map(Number);
  const [hmaj, hmin] = API_VERSION.split('.').map(Number);
  const n = (maj ?? 0) * 1000 + (min ?? 0);
  if (n > (hmaj ?? 0) * 1000 + (hmin ?? 0)) throw invalidArgument(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  if (n < (lmaj ?? 0) * 1000 + (lmin ?? 0)) throw invalidArgument(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
}

/** Docker's `filters` query: `{"key":{"value":true}}` (or the older `{"key":["value"]}`). */
export function parseFilters(raw: string | null): Record<string, string[]> {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidArgument(`invalid filters: ${raw}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument(`invalid filters: ${raw}`);
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[key] = value as string[];
    else if (value && typeof value === 'object') out[key] = Object.keys(value);
    else throw invalidArgument(`invalid filter value for '${key}'`);
  }
  return out;
}

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A filter's point in time as dockerd reads it: unix seconds (with an optional fraction),
 * an RFC 3339 date, or a Go duration ("90m", "1h30m") counted back from now. Milliseconds.
 */
export function filterTime(value: string, key: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * (durationUnits[m[2] ?? 's'] ?? 0);
    return now - ms;
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw invalidArgument(`invalid filter '${key}=${value}': expected a timestamp or a duration such as 24h`);
  return parsed;
}
