/**
 * Where the daemon listens: `-H/--host`, else $BERTH_HOST, else $DOCKER_HOST, else the default
 * unix socket. Parsed once here into a typed address.
 */
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export type DaemonAddress =
  | { kind: 'unix'; socketPath: string; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string };

export function resolveHostSetting(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  for (const v of [flag, env['BERTH_HOST'], env['DOCKER_HOST']]) {
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return DEFAULT_HOST;
}

export function parseHost(value: string): DaemonAddress {
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (socketPath === '') throw new Error(`invalid daemon address: ${value}`);
    return { kind: 'unix', socketPath, url: value };
  }
  if (value.startsWith('/')) return { kind: 'unix', socketPath: value, url: `unix://${value}` };
  const tcp = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value);
  if (tcp) {
    const host = (tcp[1] ?? '').replace(/^\[|\]$/g, '');
    const port = tcp[2] ? Number(tcp[2]) : 2375;
    return { kind: 'tcp', host, port, url: value };
  }
  throw new Error(`unable to parse berth host \`${value}\``);
}
