/**
 * Drives a hijacked attach/exec stream the way the docker CLI's hijack.go does: output is
 * demultiplexed to stdout/stderr (or copied raw with a TTY); stdin, when attached, is copied
 * to the connection and the write side is half-closed at EOF (without stdin it is half-closed
 * at once, as docker does). With a TTY on our side the terminal goes to raw mode and the detach
 * sequence (ctrl-p,ctrl-q by default) ends the session, leaving the container running.
 */
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { HijackedStream } from './client.js';
import { onExit } from './io.js';
import { FrameDemuxer, isMultiplexed, STREAM_STDERR } from './stdcopy.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** term.ToBytes: "ctrl-p,ctrl-q" → [16, 17]; "a" → [97]. */
export function parseDetachKeys(keys: string): number[] {
  const out: number[] = [];
  for (const raw of keys.split(',')) {
    const k = raw.trim();
    if (k.length > 1 && !k.startsWith('ctrl-')) throw new Error(`Unknown character: '${k}'`);
    if (k.startsWith('ctrl-')) {
      const c = k.slice(5);
      if (c.length !== 1) throw new Error(`Unknown character: '${k}'`);
      const code = c.toLowerCase().charCodeAt(0);
      if (c === '@') out.push(0);
      else if (code >= 97 && code <= 122) out.push(code - 96);
      else if (c === '[') out.push(27);
      else if (c === '\\') out.push(28);
      else if (c === ']') out.push(29);
      else if (c === '^') out.push(30);
      else if (c === '_') out.push(31);
      else throw new Error(`Unknown character: '${k}'`);
    } else if (k.length === 1) {
      out.push(k.charCodeAt(0));
    }
  }
  return out;
}

/**
 * term.NewEscapeProxy: recognises the detach sequence typed key by key (one byte per read) and
 * holds back the partial match; returns the bytes to forward, or 'detach'.
 */
export class EscapeFilter {
  private pos = 0;
  constructor(private readonly keys: readonly number[]) {}

  filter(chunk: Buffer): Buffer | 'detach' {
    if (this.keys.length === 0) return chunk;
    const held = Buffer.from(this.keys.slice(0, this.pos));
    if (chunk.length !== 1) {
      this.pos = 0;
      return held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
    }
    if (chunk[0] !== this.keys[this.pos]) {
      this.pos = 0;
      return held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
    }
    if (this.pos === this.keys.length - 1) {
      this.pos = 0;
      return 'detach';
    }
    this.pos++;
    return Buffer.alloc(0);
  }
}

export interface StdinLike extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

export interface SessionOptions {
  /** The container/exec has a TTY: output is raw. */
  tty: boolean;
  /** Copy stdin to the stream. */
  stdin: StdinLike | undefined;
  stdout: Writable;
  stderr: Writable;
  /** Detach sequence (only honoured when our stdin is a terminal and tty is set). */
  detachKeys?: readonly number[];
}

export interface Session {
  /** Resolves when the daemon closed the output side, or with 'detached'. */
  done: Promise<'eof' | 'detached'>;
  socket: Socket;
  close(): void;
}

/** Puts our terminal in raw mode until exit. */
export async function setRawTerminal(stdin: StdinLike): Promise<void> {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return;
  stdin.setRawMode(true);
  onExit(() => {
    stdin.setRawMode?.(false);
  });
  // libuv's raw mode keeps output post-processing (ONLCR), so the container's "\r\n" would
  // reach the screen as "\r\r\n" and a bare "\n" (curses' cursor-down) as CR LF. docker's
  // term.MakeRaw clears OPOST; do the same. setRawMode(false) restores the saved termios.
  const { spawnSync } = await import('node:child_process');
  spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

export function runSession(h: HijackedStream, opts: SessionOptions): Session {
  const { socket } = h;
  const multiplexed = isMultiplexed(h.contentType, opts.tty);
  let finish: (v: 'eof' | 'detached') => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  const done = new Promise<'eof' | 'detached'>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let settled = false;
  const settle = (v: 'eof' | 'detached' | Error): void => {
    if (settled) return;
    settled = true;
    if (v instanceof Error) fail(v);
    else finish(v);
  };

  const write = (dest: Writable, data: Buffer): void => {
    if (!dest.write(data)) {
      socket.pause();
      dest.once('drain', () => socket.resume());
    }
  };
  const demux = multiplexed
    ? new FrameDemuxer((stream, payload) => write(stream === STREAM_STDERR ? opts.stderr : opts.stdout, payload))
    : undefined;
  const onData = (chunk: Buffer): void => {
    if (chunk.length === 0) return;
    try {
      if (demux) demux.push(chunk);
      else write(opts.stdout, chunk);
    } catch (e) {
      settle(e as Error);
      socket.destroy();
    }
  };
  onData(h.head);
  socket.on('data', onData);
  socket.on('end', () => settle('eof'));
  socket.on('close', () => settle('eof'));
  socket.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE') settle('eof');
    else settle(e);
  });

  const stdin = opts.stdin;
  let stopInput = (): void => undefined;
  if (stdin) {
    const escape = opts.tty && stdin.isTTY ? new EscapeFilter(opts.detachKeys ?? parseDetachKeys(DEFAULT_DETACH_KEYS)) : undefined;
    const onInput = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const fwd = escape ? escape.filter(buf) : buf;
      if (fwd === 'detach') {
        stopInput();
        settle('detached');
        socket.destroy();
        return;
      }
      if (fwd.length > 0 && !socket.destroyed && socket.writable) {
        if (!socket.write(fwd)) {
          stdin.pause();
          socket.once('drain', () => stdin.resume());
        }
      }
    };
    const onEnd = (): void => {
      if (!socket.destroyed && socket.writable) socket.end();
    };
    stdin.on('data', onInput);
    stdin.on('end', onEnd);
    stopInput = () => {
      stdin.removeListener('data', onInput);
      stdin.removeListener('end', onEnd);
      stdin.pause();
    };
    done.then(stopInput, stopInput);
  } else {
    // Nothing to send: close our write side now, as docker's CloseWrite does.
    socket.end();
  }

  return {
    done,
    socket,
    close: () => {
      stopInput();
      socket.destroy();
    },
  };
}
