/**
 * Entry point of `berth` (bin/berth imports this): a command-line client of berthd's Docker
 * Engine API with the docker CLI's commands, flags, output and exit statuses.
 *
 * Startup latency matters (`berth run --rm busybox true` is benchmarked against docker), so the
 * version negotiation (HEAD /_ping) is sent before the command tree and its dependencies are
 * loaded: the daemon answers while node compiles them.
 */
import { api, exit, setHostFlag } from './io.js';

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

const NO_DAEMON = new Set(['help', 'logout', 'completion']);

/** -H/--host from argv (the same value commander will parse), and whether to ping early. */
function early(argv: readonly string[]): { host?: string; ping: boolean } {
  let host: string | undefined;
  let word: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-H' || a === '--host') host = argv[++i];
    else if (a.startsWith('--host=')) host = a.slice(7);
    else if (a.startsWith('-H') && a.length > 2) host = a.slice(2);
    else if (a === '--config' || a === '-l' || a === '--log-level') i++;
    else if (a === '-h' || a === '--help' || a === '-v' || a === '--version') return { ping: false };
    else if (!a.startsWith('-')) {
      word = a;
      if (argv.slice(i + 1).some((x) => x === '--help' || x === '-h')) return { ping: false };
      break;
    }
  }
  const out: { host?: string; ping: boolean } = { ping: word !== undefined && !NO_DAEMON.has(word) };
  if (host !== undefined) out.host = host;
  return out;
}

const argv = process.argv.slice(2);
const e = early(argv);
if (e.ping) {
  try {
    setHostFlag(e.host);
    // Started now, awaited (with its own error reporting) by the command's first request.
    api()
      .apiVersion()
      .catch(() => undefined);
  } catch {
    // an unparsable -H is reported by the command
  }
}

const { main } = await import('./program.js');
const code = await main(argv);
await exit(code);
