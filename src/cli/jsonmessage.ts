/**
 * Rendering of the daemon's JSON message stream (pull/push progress), as moby's
 * pkg/jsonmessage DisplayJSONMessagesStream does it:
 * - not a terminal: one line per message ("<id>: <status>"); messages carrying byte progress
 *   (Downloading/Extracting with current/total) are skipped;
 * - a terminal: one line per layer id, rewritten in place with ANSI cursor movement and a
 *   "[=====>     ]  1.2MB/4.3MB" bar computed from progressDetail.
 * An `error` in the stream ends rendering with that message.
 */
import { goDurationSeconds, humanSize } from '../core/units.js';

export interface JSONProgress {
  current?: number;
  total?: number;
  start?: number;
  hidecounts?: boolean;
  units?: string;
}

export interface JSONMessage {
  stream?: string;
  status?: string;
  progressDetail?: JSONProgress;
  progress?: string;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  errorDetail?: { code?: number; message?: string };
  error?: string;
  aux?: unknown;
}

export class JSONMessageError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code?: number) {
    super(message);
    this.name = 'JSONMessageError';
    this.code = code;
  }
}

/** Splits a byte stream into top-level JSON values (newline-delimited or simply concatenated). */
export class JSONStreamSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escape = false;
  private start = -1;
  private scanned = 0;

  push(chunk: string): unknown[] {
    this.buf += chunk;
    const out: unknown[] = [];
    let i = this.scanned;
    for (; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === '\\') this.escape = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          out.push(JSON.parse(this.buf.slice(this.start, i + 1)));
          this.start = -1;
        }
      }
    }
    if (this.depth === 0) {
      this.buf = '';
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.scanned = this.buf.length;
      this.start = 0;
    }
    return out;
  }
}

/** JSONProgress.String(). `width` is the terminal width (docker uses 200 when unknown). */
export function progressString(p: JSONProgress, width: number, now: number = Date.now()): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) {
    return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  }
  let percentage = Math.trunc((current / total) * 100) / 2;
  percentage = Math.trunc(percentage);
  if (percentage > 50) percentage = 50;
  let pbBox = '';
  if (width > 110) {
    const numSpaces = 50 - percentage > 0 ? 50 - percentage : 0;
    pbBox = `[${'='.repeat(percentage)}>${' '.repeat(numSpaces)}] `;
  }
  let numbersBox = '';
  if (!p.hidecounts) {
    if (!p.units) {
      const cur = humanSize(current);
      numbersBox = current > total ? cur.padStart(8) : `${cur.padStart(8)}/${humanSize(total)}`;
    } else {
      numbersBox = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
    }
  }
  let timeLeftBox = '';
  if (current > 0 && (p.start ?? 0) > 0 && percentage < 50) {
    const fromStart = now / 1000 - (p.start ?? 0);
    const perEntry = fromStart / current;
    timeLeftBox = ` ${goDurationSeconds((total - current) * perEntry)}`;
  }
  return pbBox + numbersBox + timeLeftBox;
}

function hasProgress(jm: JSONMessage): boolean {
  return jm.progressDetail !== undefined && jm.progressDetail !== null;
}

/** Renders messages as they arrive. */
export class JSONMessageRenderer {
  private ids = new Map<string, number>();

  constructor(
    private readonly write: (s: string) => void,
    private readonly isTerminal: boolean,
    private readonly width: () => number = () => 200,
  ) {}

  /** Renders one message; throws JSONMessageError for an error message. */
  render(jm: JSONMessage): void {
    if (jm.aux !== undefined) return;
    let diff = 0;
    const progressish = hasProgress(jm) || (jm.progress !== undefined && jm.progress !== '');
    if (jm.id && progressish) {
      let line = this.ids.get(jm.id);
      if (line === undefined) {
        line = this.ids.size;
        this.ids.set(jm.id, line);
        if (this.isTerminal) this.write('\n');
      }
      diff = this.ids.size - line;
      if (this.isTerminal && diff > 0) this.write(`\x1b[${diff}A`);
    } else {
      this.ids = new Map();
    }
    try {
      this.display(jm);
    } finally {
      if (jm.id && this.isTerminal && diff > 0) this.write(`\x1b[${diff}B`);
    }
  }

  private display(jm: JSONMessage): void {
    if (jm.errorDetail || jm.error) {
      const code = jm.errorDetail?.code;
      if (code === 401) throw new JSONMessageError('authentication is required', 401);
      throw new JSONMessageError(jm.errorDetail?.message ?? jm.error ?? 'unknown error', code);
    }
    let endl = '';
    const prog = jm.progressDetail;
    const progText = prog ? progressString(prog, this.width()) : '';
    if (this.isTerminal && !jm.stream && prog) {
      this.write('\x1b[2K\r');
      endl = '\r';
    } else if (prog && progText !== '') {
      return; // no progress bars when not a terminal
    }
    let out = '';
    if (jm.timeNano) out += `${new Date(jm.timeNano / 1e6).toISOString()} `;
    else if (jm.time) out += `${new Date(jm.time * 1000).toISOString()} `;
    if (jm.id) out += `${jm.id}: `;
    if (jm.from) out += `(from ${jm.from}) `;
    if (prog && this.isTerminal) out += `${jm.status ?? ''} ${progText}${endl}`;
    else if (jm.progress) out += `${jm.status ?? ''} ${jm.progress}${endl}`;
    else if (jm.stream) out += `${jm.stream}${endl}`;
    else out += `${jm.status ?? ''}${endl}\n`;
    this.write(out);
  }
}

/** Renders a whole stream. Resolves when it ends; rejects with the first error message. */
export async function displayJSONMessages(
  body: AsyncIterable<Buffer | string>,
  write: (s: string) => void,
  isTerminal: boolean,
  width: () => number = () => 200,
): Promise<void> {
  const splitter = new JSONStreamSplitter();
  const renderer = new JSONMessageRenderer(write, isTerminal, width);
  for await (const chunk of body) {
    for (const msg of splitter.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'))) {
      if (msg && typeof msg === 'object') renderer.render(msg as JSONMessage);
    }
  }
}
