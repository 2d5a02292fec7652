/** berthd: the engine process. Flags follow dockerd's names. */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { errorMessage } from './core/errors.js';
import { logger, setLogLevel, type LogLevel } from './core/log.js';
import { defaultConfig, parseAddressPool, parseStorageOpts, readConfigFile, type EngineConfig } from './engine/config.js';
import { mergeLogConfig } from './containers/log-config.js';
import { kvStringsToMap } from './core/go-parse.js';
import { Engine } from './engine/engine.js';
import { DockerApiServer } from './api/docker/server.js';

const log = logger('berthd');

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

async function main(): Promise<void> {
  const program = new Command('berthd')
    .description('berth container engine daemon (Docker Engine API on a unix socket)')
    .option('--data-root <dir>', 'root of persistent state', defaultConfig.dataRoot)
    .option('--exec-root <dir>', 'root of runtime state (tmpfs)', defaultConfig.execRoot)
    .option('-H, --host <unix://path>', 'socket to listen on (repeatable)', collect)
    .option('--insecure-registry <host:port>', 'registry reachable over plain HTTP (repeatable)', collect)
    .option('--config-file <path>', 'daemon configuration file (JSON, dockerd-style keys)')
    .option('--runtime <path>', 'OCI runtime binary', defaultConfig.runtimePath)
    .option('--conmon <path>', 'conmon binary', defaultConfig.conmonPath)
    .option('--init-path <path>', 'init binary for --init (catatonit)', defaultConfig.initPath)
    .option('--cgroup-parent <path>', 'parent cgroup for containers', defaultConfig.cgroupParent)
    .option('--max-concurrent-downloads <n>', 'layers downloaded at once per pull', String(defaultConfig.maxConcurrentDownloads))
    .option('-b, --bridge <name>', 'device name of the default bridge network', defaultConfig.bridge)
    .option('--bip <cidr>', 'gateway address and prefix of the default bridge network', defaultConfig.bip)
    .option('--default-address-pool <base=CIDR,size=N>', 'where user-defined networks get subnets (repeatable)', collect)
    .option('--dns <ip>', 'upstream DNS server for containers (repeatable; default: the host resolvers)', collect)
    .option('--storage-opt <key=value>', 'storage driver option (repeatable): overlay.layer_format=auto|squashfs|dir', collect)
    .option('--log-driver <name>', 'default log driver of containers (json-file)', defaultConfig.logConfig.type)
    .option('--log-opt <key=value>', 'default log option of containers (repeatable): max-size=SIZE, max-file=1', collect)
    .option('-l, --log-level <level>', 'debug, info, warn or error', 'info')
    .version('0.1.0');
  program.parse(process.argv);
  const opts = program.opts<{
    dataRoot: string;
    execRoot: string;
    host?: string[];
    insecureRegistry?: string[];
    configFile?: string;
    runtime: string;
    conmon: string;
    initPath: string;
    cgroupParent: string;
    maxConcurrentDownloads: string;
    bridge: string;
    bip: string;
    defaultAddressPool?: string[];
    dns?: string[];
    storageOpt?: string[];
    logDriver: string;
    logOpt?: string[];
    logLevel: string;
  }>();
  if (!/^\/[A-Za-z0-9_.\-/]*$/.test(opts.cgroupParent)) throw new Error(`--cgroup-parent must be an absolute cgroup path, got ${opts.cgroupParent}`);
  if (!['debug', 'info', 'warn', 'error'].includes(opts.logLevel)) throw new Error(`invalid log level ${opts.logLevel}`);
  setLogLevel(opts.logLevel as LogLevel);

  const fileConfig = opts.configFile ? readConfigFile(opts.configFile) : existsSync('/etc/berth/daemon.json') ? readConfigFile('/etc/berth/daemon.json') : {};
  const explicit = (name: string): boolean => program.getOptionValueSource(name) === 'cli';
  const downloads = Number(opts.maxConcurrentDownloads);
  if (!Number.isInteger(downloads) || downloads < 1) throw new Error('--max-concurrent-downloads must be a positive integer');
  const config: EngineConfig = {
    ...defaultConfig,
    ...fileConfig,
    ...(explicit('dataRoot') ? { dataRoot: opts.dataRoot } : {}),
    ...(explicit('execRoot') ? { execRoot: opts.execRoot } : {}),
    ...(opts.host ? { hosts: opts.host } : {}),
    ...(opts.insecureRegistry ? { insecureRegistries: [...(fileConfig.insecureRegistries ?? []), ...opts.insecureRegistry] } : {}),
    ...(explicit('runtime') ? { runtimePath: opts.runtime } : {}),
    ...(explicit('conmon') ? { conmonPath: opts.conmon } : {}),
    ...(explicit('cgroupParent') ? { cgroupParent: opts.cgroupParent } : {}),
    ...(explicit('initPath') ? { initPath: opts.initPath } : {}),
    ...(explicit('maxConcurrentDownloads') ? { maxConcurrentDownloads: downloads } : {}),
    ...(explicit('bridge') ? { bridge: opts.bridge } : {}),
    ...(explicit('bip') ? { bip: opts.bip } : {}),
    ...(opts.defaultAddressPool ? { defaultAddressPools: opts.defaultAddressPool.map(parseAddressPool) } : {}),
    ...(opts.dns ? { dns: opts.dns } : {}),
    ...(opts.storageOpt ? parseStorageOpts(opts.storageOpt) : {}),
  };
  if (explicit('logDriver') || opts.logOpt) {
    config.logConfig = {
      type: explicit('logDriver') ? opts.logDriver : config.logConfig.type,
      config: opts.logOpt ? kvStringsToMap(opts.logOpt) : config.logConfig.config,
    };
  }
  // Checked now: a bad default would otherwise fail every create.
  mergeLogConfig(undefined, config.logConfig);
  if (!opts.host && !fileConfig.hosts && explicit('execRoot')) config.hosts = [`unix://${config.execRoot}/berth.sock`];

  const engine = await Engine.open(config);
  const api = new DockerApiServer(engine);
  await api.listen(config.hosts);
  log.info('berthd ready', { hosts: config.hosts, dataRoot: config.dataRoot, execRoot: config.execRoot });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    // Containers are left running under conmon: berthd picks them up again when it restarts.
    log.info('shutting down', { signal });
    // Clients still connected (a `logs -f`, say) must not keep berthd from exiting.
    const exit = (): void => {
      clearTimeout(deadline);
      process.exit(0);
    };
    const deadline = setTimeout(exit, 2000);
    void api.close().finally(() => engine.close().finally(exit));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`berthd: ${errorMessage(err)}\n`);
  process.exit(1);
});
