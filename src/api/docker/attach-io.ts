/** The two directions of an attach or exec stream: log entries out, client input to conmon. */
import type { Writable } from 'node:stream';
import type { AttachWriter } from '../../runtime/attach-socket.js';
import type { DetachScanner } from './detach-keys.js';
import type { LogEntry } from '../../runtime/logs.js';
import type { RequestContext } from './http.js';
import { frame, STDERR, STDOUT, writeWithBackpressure } from './streams.js';

export interface ClientInputOptions {
  /** Looks for the detach sequence (TTY attaches): the input stops there and `onDetach` runs. */
  detach?: DetachScanner;
  onDetach?: () => void;
  /** The client half-closed its side. */
  onEnd?: () => void;
}

/**
 * The client's side of a hijacked attach: bytes typed before the container's attach socket
 * exists are buffered, and the client's half-close closes the container's stdin.
 */
export function clientInput(ctx: RequestContext, options: ClientInputOptions = {}): { connect(open: () => AttachWriter): void } | undefined {
  const socket = ctx.upgrade?.socket ?? ctx.req;
  let writer: AttachWriter | undefined;
  let ended = false;
  const buffered: Buffer[] = [];
  const receive = (raw: Buffer): void => {
    if (ended) return;
    let chunk = raw;
    if (options.detach) {
      const { forward, detach } = options.detach.scan(raw);
      chunk = forward;
      if (detach) {
        // The bytes before the sequence still go in; then the input ends without an EOF
        // for the container (its stdin is kept open for the next attach).
        ended = true;
        if (chunk.length > 0) buffered.push(chunk);
        flush();
        writer?.close();
        options.onDetach?.();
        return;
      }
    }
    if (chunk.length === 0) return;
    if (writer) void writer.write(chunk).catch(() => undefined);
    else buffered.push(chunk);
  };
  const flush = (): void => {
    if (!writer) return;
    for (const chunk of buffered.splice(0)) void writer.write(chunk).catch(() => undefined);
  };
  if (ctx.upgrade?.head.length) receive(ctx.upgrade.head);
  socket.on('data', receive);
  socket.on('end', () => {
    if (ended) return;
    ended = true;
    writer?.close();
    options.onEnd?.();
  });
  // A client that vanishes without a FIN must not leave berthd holding conmon's socket.
  socket.on('close', () => {
    ended = true;
    writer?.close();
  });
  if (socket.readableEnded) {
    ended = true;
    options.onEnd?.();
  }
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
        flush();
        if (ended) writer.close();
      };
      attempt();
    },
  };
}

export function writeEntry(out: Writable, entry: LogEntry, options: { stdout: boolean; stderr: boolean; tty: boolean; timestamps: boolean; details?: boolean }): Promise<void> | void {
  if (entry.stream === 'stdout' && !options.stdout) return;
  if (entry.stream === 'stderr' && !options.stderr) return;
  // `details`: dockerd puts the line's log attributes and a space in front of it; berth's logs
  // carry no attributes, so the space is all there is.
  const prefix = `${options.timestamps ? `${entry.timestamp} ` : ''}${options.details ? ' ' : ''}`;
  const data = prefix ? Buffer.concat([Buffer.from(prefix), entry.data]) : entry.data;
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
