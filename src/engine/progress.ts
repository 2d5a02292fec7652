/** Docker's JSON progress messages (pkg/jsonmessage), the stream format pull/push/load clients render. */
export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  /** Plain text lines (load's "Loaded image: …"). */
  stream?: string;
  error?: string;
  errorDetail?: { message: string };
  aux?: unknown;
}

export type ProgressSink = (message: JsonMessage) => void;

function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(value < 10 ? 3 : value < 100 ? 2 : 1).replace(/\.?0+$/, '')}${units[unit]}`;
}

/** The `progress` string docker renders when it cannot draw its own bar: `[===>   ]  1.2MB/3.4MB`. */
export function progressBar(current: number, total: number): string {
  const width = 50;
  const filled = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  const bar = '='.repeat(Math.max(0, filled - (filled < width ? 0 : 1))) + (filled > 0 ? '>' : '') + ' '.repeat(Math.max(0, width - filled));
  return `[${bar.slice(0, width)}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export function shortId(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
}
