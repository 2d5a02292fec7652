/**
 * The Docker multiplexed stream (application/vnd.docker.multiplexed-stream), used by attach,
 * logs and exec when the container has no TTY: each frame is an 8-byte header
 * [stream, 0, 0, 0, size uint32 big-endian] followed by `size` payload bytes. Stream 0 is
 * stdin (written to stdout, as moby's stdcopy does), 1 stdout, 2 stderr, 3 a daemon-side error.
 * Frames arrive split and coalesced arbitrarily across reads; this parser keeps only the bytes
 * of an incomplete header and hands payload slices out as they arrive (no per-frame buffering).
 */
export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
export const STREAM_SYSTEMERR = 3;

const HEADER_LEN = 8;

export class DemuxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemuxError';
  }
}

export type FrameSink = (stream: number, payload: Buffer) => void;

export class FrameDemuxer {
  private header = Buffer.alloc(HEADER_LEN);
  private headerFill = 0;
  private remaining = 0;
  private stream = 0;
  private systemErr: Buffer[] = [];

  constructor(private readonly sink: FrameSink) {}

  /** Feeds bytes; calls the sink with payload pieces (a frame may be delivered in several pieces). */
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER_LEN - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + take);
        this.headerFill += take;
        off += take;
        if (this.headerFill < HEADER_LEN) return;
        this.headerFill = 0;
        this.stream = this.header[0] ?? 0;
        if (this.stream > STREAM_SYSTEMERR) {
          throw new DemuxError(`Unrecognized input header: ${this.stream}`);
        }
        this.remaining = this.header.readUInt32BE(4);
        if (this.remaining === 0) this.frameDone();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      this.remaining -= take;
      if (this.stream === STREAM_SYSTEMERR) this.systemErr.push(Buffer.from(piece));
      else this.sink(this.stream, piece);
      if (this.remaining === 0) this.frameDone();
    }
  }

  /** Whether the stream stopped at a frame boundary (nothing half-read). */
  get atBoundary(): boolean {
    return this.headerFill === 0 && this.remaining === 0;
  }

  private frameDone(): void {
    if (this.stream === STREAM_SYSTEMERR) {
      const msg = Buffer.concat(this.systemErr).toString('utf8');
      this.systemErr = [];
      throw new DemuxError(`error from daemon in stream: ${msg}`);
    }
  }
}

/** Encodes one frame (used by tests and fakes). */
export function muxFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(HEADER_LEN);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
export const RAW_STREAM = 'application/vnd.docker.raw-stream';

/**
 * Whether a response body is multiplexed. API ≥ 1.42 daemons say so in Content-Type; 1.41
 * daemons send "raw-stream" (attach) or nothing (logs) for multiplexed bodies, so the
 * container's Tty setting decides whenever the header does not positively say "multiplexed".
 */
export function isMultiplexed(contentType: string | undefined, tty: boolean): boolean {
  if (contentType && contentType.split(';')[0]?.trim().toLowerCase() === MULTIPLEXED_STREAM) return true;
  return !tty;
}
