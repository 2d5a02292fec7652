/** /containers/{id}/exec and /exec/{id}/*: docker exec through conmon's exec mode. */
import type { Duplex, Writable } from 'node:stream';
import { conflict, errorMessage, invalidArgument } from '../../core/errors.js';
import type { ExecConfig } from '../../containers/exec.js';
import type { Engine } from '../../engine/engine.js';
import { readLogs } from '../../runtime/logs.js';
import { resizeTerminalSpaced } from '../../runtime/resize.js';
import { clientInput, drainClient, writeEntry } from './attach-io.js';
import { commonHeaders, queryInt, readJsonBody, sendEmpty, sendJson, type Router } from './http.js';
import { frame, STDOUT, writeUpgradeHeaders } from './streams.js';

type Json = Record<string, unknown>;

function execConfig(body: unknown): ExecConfig {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidArgument('exec config: expected a JSON object');
  const b = body as Json;
  const strs = (v: unknown, f: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidArgument(`json: cannot unmarshal into ${f} of type []string`);
    return v as string[];
  };
  const str = (v: unknown, f: string): string => {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw invalidArgument(`json: cannot unmarshal into ${f} of type string`);
    return v;
  };
  const bool = (v: unknown, f: string): boolean => {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw invalidArgument(`json: cannot unmarshal into ${f} of type bool`);
    return v;
  };
  const size = Array.isArray(b.ConsoleSize) ? (b.ConsoleSize as unknown[]).map((n) => (typeof n === 'number' ? n : 0)) : [];
  return {
    cmd: strs(b.Cmd, 'Cmd'),
    env: strs(b.Env, 'Env'),
    user: str(b.User, 'User'),
    workingDir: str(b.WorkingDir, 'WorkingDir'),
    tty: bool(b.Tty, 'Tty'),
    attachStdin: bool(b.AttachStdin, 'AttachStdin'),
    attachStdout: bool(b.AttachStdout, 'AttachStdout'),
    attachStderr: bool(b.AttachStderr, 'AttachStderr'),
    privileged: bool(b.Privileged, 'Privileged'),
    detachKeys: str(b.DetachKeys, 'DetachKeys'),
    ...(size[0] && size[1] ? { consoleSize: { height: size[0], width: size[1] } } : {}),
  };
}

export function registerExecRoutes(router: Router, engine: Engine): void {
  const execs = engine.execs;

  router.add('POST', '/containers/{id}/exec', async ({ req, res, params }) => {
    const config = execConfig(await readJsonBody<unknown>(req));
    const session = execs.create(params[0] as string, config);
    sendJson(res, 201, { Id: session.id });
  });

  router.add('POST', '/exec/{id}/start', async (ctx) => {
    const session = execs.get(ctx.params[0] as string);
    const body = ((await readJsonBody<Json>(ctx.req, undefined, ctx.upgrade)) ?? {}) as Json;
    if (body.Detach === true) {
      await execs.start(session.id);
      sendEmpty(ctx.res, 200);
      return;
    }
    if (session.started) throw conflict(`Error: Exec command ${session.id} has already run`);
    const tty = session.config.tty;
    const out: Duplex | Writable = ctx.upgrade ? ctx.upgrade.socket : ctx.res;
    const stdin = session.config.attachStdin ? clientInput(ctx) : undefined;
    if (!stdin) drainClient(ctx);
    if (ctx.upgrade) writeUpgradeHeaders(ctx.upgrade.socket, !tty);
    else {
      ctx.res.writeHead(200, { ...commonHeaders(), 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
      ctx.res.flushHeaders();
    }
    try {
      await execs.start(session.id);
    } catch (err) {
      // The stream is already hijacked, so the reason goes into it, as dockerd does; the
      // client then reads the exit code (126/127) from GET /exec/{id}/json.
      const text = Buffer.from(`${errorMessage(err)}\r\n`);
      out.end(tty ? text : frame(STDOUT, text));
      return;
    }
    stdin?.connect(() => execs.connectStdin(session));
    const abort = new AbortController();
    out.on('close', () => abort.abort());
    out.on('error', () => abort.abort());
    try {
      await readLogs(execs.logPath(session), {
        follow: true,
        exited: execs.waitExit(session),
        signal: abort.signal,
        onEntry: (entry) =>
          writeEntry(out, entry, { stdout: session.config.attachStdout, stderr: session.config.attachStderr, tty, timestamps: false }),
      });
    } finally {
      out.end();
    }
  });

  router.add('GET', '/exec/{id}/json', ({ res, params }) => {
    const s = execs.get(params[0] as string);
    sendJson(res, 200, {
      ID: s.id,
      Running: s.running,
      ExitCode: s.exitCode,
      ProcessConfig: { tty: s.config.tty, entrypoint: s.config.cmd[0] ?? '', arguments: s.config.cmd.slice(1), privileged: s.config.privileged, ...(s.config.user ? { user: s.config.user } : {}) },
      OpenStdin: s.config.attachStdin,
      OpenStderr: s.config.attachStderr,
      OpenStdout: s.config.attachStdout,
      CanRemove: false,
      ContainerID: s.containerId,
      DetachKeys: s.config.detachKeys,
      Pid: s.pid,
    });
  });

  router.add('POST', '/exec/{id}/resize', ({ res, params, query }) => {
    const s = execs.get(params[0] as string);
    const h = queryInt(query, 'h');
    const w = queryInt(query, 'w');
    if (h === undefined || w === undefined || h < 0 || w < 0) throw invalidArgument('resize requires non-negative h and w');
    if (!s.running) throw conflict(`Exec ${s.id} is not running`);
    if (s.config.tty) {
      resizeTerminalSpaced(s.dir, h, w);
    }
    sendEmpty(res, 200);
  });
}
