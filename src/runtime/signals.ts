/**
 * Signal names and numbers as Docker parses them (moby/sys/signal ParseSignal, Linux table):
 * a decimal number, or a name with or without the `SIG` prefix, case-insensitive, including the
 * real-time forms `RTMIN`, `RTMIN+n` (n ≤ 15), `RTMAX-n` (n ≤ 14) and `RTMAX`.
 */
import { invalidArgument } from '../core/errors.js';

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/** Canonical names (without `SIG`) of the standard Linux signals, by number. */
const standardNames: ReadonlyArray<readonly [number, string]> = [
  [1, 'HUP'],
  [2, 'INT'],
  [3, 'QUIT'],
  [4, 'ILL'],
  [5, 'TRAP'],
  [6, 'ABRT'],
  [7, 'BUS'],
  [8, 'FPE'],
  [9, 'KILL'],
  [10, 'USR1'],
  [11, 'SEGV'],
  [12, 'USR2'],
  [13, 'PIPE'],
  [14, 'ALRM'],
  [15, 'TERM'],
  [16, 'STKFLT'],
  [17, 'CHLD'],
  [18, 'CONT'],
  [19, 'STOP'],
  [20, 'TSTP'],
  [21, 'TTIN'],
  [22, 'TTOU'],
  [23, 'URG'],
  [24, 'XCPU'],
  [25, 'XFSZ'],
  [26, 'VTALRM'],
  [27, 'PROF'],
  [28, 'WINCH'],
  [29, 'IO'],
  [30, 'PWR'],
  [31, 'SYS'],
];

/** Aliases Docker accepts that are not the canonical name of their number. */
const aliases: ReadonlyArray<readonly [string, number]> = [
  ['IOT', 6],
  ['CLD', 17],
  ['POLL', 29],
];

const byName = new Map<string, number>();
const byNumber = new Map<number, string>();

for (const [num, name] of standardNames) {
  byName.set(name, num);
  byNumber.set(num, name);
}
for (const [name, num] of aliases) byName.set(name, num);
byName.set('RTMIN', SIGRTMIN);
byNumber.set(SIGRTMIN, 'RTMIN');
for (let i = 1; i <= 15; i++) {
  byName.set(`RTMIN+${i}`, SIGRTMIN + i);
  byNumber.set(SIGRTMIN + i, `RTMIN+${i}`);
}
for (let i = 14; i >= 1; i--) {
  byName.set(`RTMAX-${i}`, SIGRTMAX - i);
  byNumber.set(SIGRTMAX - i, `RTMAX-${i}`);
}
byName.set('RTMAX', SIGRTMAX);
byNumber.set(SIGRTMAX, 'RTMAX');

export interface ParsedSignal {
  /** The signal number, 1–64. */
  number: number;
  /**
   * Canonical name with the `SIG` prefix (`SIGTERM`, `SIGRTMIN+3`, `SIGRTMAX-2`); the two
   * glibc-reserved numbers 32 and 33 have no name and are given as `SIG32`/`SIG33`.
   */
  name: string;
}

/**
 * Parses `SIGTERM`, `term`, `15`, `SIGRTMIN+3`, … Numbers must be 1–64 (Docker accepts any
 * non-zero number here and rejects the others later when signalling; berth rejects them at once).
 * Anything else throws BerthError invalid-argument `Invalid signal: X`.
 */
export function parseSignal(raw: string): ParsedSignal {
  const text = raw;
  if (/^[+-]?\d+$/.test(text)) {
    const num = Number(text);
    if (!Number.isSafeInteger(num) || num < 1 || num > SIGRTMAX) throw invalidArgument(`Invalid signal: ${raw}`);
    return { number: num, name: signalName(num) };
  }
  let upper = text.toUpperCase();
  if (upper.startsWith('SIG')) upper = upper.slice(3);
  const num = byName.get(upper);
  if (num === undefined) throw invalidArgument(`Invalid signal: ${raw}`);
  return { number: num, name: signalName(num) };
}

/** The signal number for a name or number string; see parseSignal. */
export function signalNumber(raw: string): number {
  return parseSignal(raw).number;
}

/** Canonical `SIG…` name of a signal number (1–64). */
export function signalName(num: number): string {
  if (!Number.isInteger(num) || num < 1 || num > SIGRTMAX) throw invalidArgument(`Invalid signal: ${num}`);
  const name = byNumber.get(num);
  return name === undefined ? `SIG${num}` : `SIG${name}`;
}

/** Whether a string parses as a signal. */
export function isValidSignal(raw: string): boolean {
  try {
    parseSignal(raw);
    return true;
  } catch {
    return false;
  }
}
