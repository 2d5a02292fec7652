/** The two directions of an attach or exec stream: log entries out, client input to conmon. */
import type { Writable } from 'node:stream';
import type { AttachWriter } from '../../runtime/attach-socket.js';
import type { LogEntry } from '../../runtime/logs.js';
import type { RequestContext } from './http.js';
import { frame, STDERR, STDOUT, writeWithBackpressure } from './streams.js';

/**
 * The client's side of a hijacked attach: bytes typed before the container's attach socket
 * exists are buffered, and the client's half-close closes the container's stdin.
 */
export function clientInput(ctx: RequestContext): { connect(open: () => AttachWriter): void } | undefined {
  const socket = ctx.upgrade?.socket ?? ctx.req;
  const buffered: Buffer[] = ctx.upgrade?.head.length ? [ctx.upgrade.head] : [];
  let writer: AttachWriter | undefined;
  let ended = false;
  socket.on('data', (chunk: Buffer) => {
    if (writer) void writer.write(chunk).catch(() => undefined);
    else buffered.push(chunk);
  });
  socket.on('end', () => {
    ended = true;
    writer?.close();
  });
  if (socket.readableEnded) ended = true;
  // readUpgradeBody leaves the socket paused once the request body is split off.
  socket.resume();
  return {
    connect(open) {
      // conmon may create the attach socket a moment after it reports the PID (exec mode):
      // retry briefly rather than leave the process without its stdin, or its EOF.
      const deadline = Date.now() + 5000;
      const attempt = (): void => {
        if (writer || socket.destroyed) return;
        try {
          writer = open();
        } catch {
          if (Date.now() < deadline) setTimeout(attempt, 10);
          return;
        }
        for (const chunk of buffered.splice(0)) void writer.write(chunk).catch(() => undefined);
        if (ended) writer.close();
      };
      attempt();
    },
  };
}

export function writeEntry(out: Writable, entry: LogEntry, options: { stdout: boolean; stderr: boolean; tty: boolean; timestamps: boolean }): Promise<void> | void {
  if (entry.stream === 'stdout' && !options.stdout) return;
  if (entry.stream === 'stderr' && !options.stderr) return;
  const data = options.timestamps ? Buffer.concat([Buffer.from(`${entry.timestamp} `), entry.data]) : entry.data;
  return writeWithBackpressure(out, options.tty ? data : frame(entry.stream === 'stderr' ? STDERR : STDOUT, data));
}

/**
 * For streams without stdin: read and drop what the client sends, so its half-close and
 * disconnect are noticed (a paused socket never reports them).
 */
export function drainClient(ctx: RequestContext): void {
  const socket = ctx.upgrade?.socket;
  if (!socket) return;
  socket.on('data', () => undefined);
  socket.resume();
}
