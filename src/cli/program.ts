/**
 * The `berth` command tree (commander): every command with docker's flags, and docker's
 * wording/exit statuses for usage errors. Only declarations live here; each command's
 * implementation is imported when it runs, so `berth run` loads no more than it needs.
 */
import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';
import { CliError, displayError } from './errors.js';
import { eprintln, setHostFlag } from './io.js';
import { InvalidGoBool, normalizeGoBools } from './go-bools.js';
import type { HistoryOptions } from './commands/history.js';
import { defineEvents, LIFECYCLE_ARG_SPECS, LIFECYCLE_CONTAINER_COMMANDS, LIFECYCLE_TOP_LEVEL } from './program-lifecycle.js';

// commander's CommonJS entry loads ~4 ms faster than its ESM wrapper (no export-name scan).
const { Command, CommanderError } = createRequire(import.meta.url)('commander') as typeof CommanderModule;
type Command = CommanderModule.Command;
type CommanderError = CommanderModule.CommanderError;

const VERSION = '0.1.0';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Wraps a command implementation: its resolved number is the exit status. */
function act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    process.exitCode = await fn(...args);
  };
}

function addContainerFlags(cmd: Command, forRun: boolean): Command {
  if (forRun) {
    cmd.option('-d, --detach', 'Run container in background and print container ID');
    cmd.option('--sig-proxy [bool]', 'Proxy received signals to the process');
  }
  return cmd
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--name <string>', 'Assign a name to the container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-h, --hostname <string>', 'Container host name')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect)
    .option('--network <network>', 'Connect a container to a network (none, host, bridge, default, or a name)')
    .option('--net <network>', 'Alias of --network')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('--label-file <list>', 'Read in a line delimited file of labels', collect)
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('--group-add <list>', 'Add additional groups to join', collect)
    .option('--privileged', 'Give extended privileges to this container')
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--shm-size <bytes>', 'Size of /dev/shm')
    .option('--pid <string>', 'PID namespace to use')
    .option('--ipc <string>', 'IPC mode to use')
    .option('--uts <string>', 'UTS namespace to use')
    .option('--cgroupns <string>', 'Cgroup namespace to use (host|private)')
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('--cidfile <string>', 'Write the container ID to the file')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-v, --volume <list>', 'Bind mount a volume', collect)
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect)
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect)
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--dns-option <list>', 'Set DNS options', collect)
    .option('--dns-search <list>', 'Set custom DNS search domains', collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <string>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota')
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period')
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--ulimit <ulimit>', 'Ulimit options', collect)
    .option('--oom-kill-disable', 'Disable OOM Killer')
    .option('--oom-score-adj <int>', "Tune host's OOM preferences (-1000 to 1000)")
    .option('--device <list>', 'Add a host device to the container', collect)
    .option('--sysctl <map>', 'Sysctl options', collect)
    .option('--health-cmd <string>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h) (default 0s)')
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)')
    .option('--health-retries <int>', 'Consecutive failures needed to report unhealthy')
    .option('--health-start-period <duration>', 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)')
    .option('--health-start-interval <duration>', 'Time between running the check during the start period (ms|s|m|h) (default 0s)')
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK')
    .option('--security-opt <list>', 'Security Options', collect)
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)')
    .option('--blkio-weight-device <list>', 'Block IO weight (relative device weight)', collect)
    .option('--device-read-bps <list>', 'Limit read rate (bytes per second) from a device', collect)
    .option('--device-read-iops <list>', 'Limit read rate (IO per second) from a device', collect)
    .option('--device-write-bps <list>', 'Limit write rate (bytes per second) to a device', collect)
    .option('--device-write-iops <list>', 'Limit write rate (IO per second) to a device', collect)
    .option('--cgroup-parent <string>', 'Optional parent cgroup for the container')
    .option('-q, --quiet', 'Suppress the pull output')
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--memory-swappiness <int>', 'Tune container memory swappiness (0 to 100) (default -1)')
    .option('--volume-driver <string>', 'Optional volume driver for the container')
    .option('--runtime <string>', 'Runtime to use for this container')
    .option('--isolation <string>', 'Container isolation technology')
    .option('--link <list>', 'Add link to another container', collect)
    .option('--storage-opt <list>', 'Storage driver options for the container', collect)
    .option('--cpu-rt-period <int>', 'Limit CPU real-time period in microseconds')
    .option('--cpu-rt-runtime <int>', 'Limit CPU real-time runtime in microseconds')
    .option('--kernel-memory <bytes>', 'Kernel memory limit')
    .option('--userns <string>', 'User namespace to use')
    .option('--device-cgroup-rule <list>', 'Add a rule to the cgroup allowed devices list', collect)
    .option('--annotation <map>', 'Add an annotation to the container (passed through to the OCI runtime)', collect)
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect)
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container');
}

interface RawContainerOpts {
  net?: string;
  network?: string;
  [k: string]: unknown;
}

function containerOpts(o: RawContainerOpts): Record<string, unknown> {
  const r: Record<string, unknown> = { ...o };
  if (o.net !== undefined && o.network === undefined) r['network'] = o.net;
  return r;
}

function defineRun(parent: Command, name = 'run'): void {
  const cmd = parent
    .command(name)
    .description('Create and run a new container from an image')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
  addContainerFlags(cmd, true).action(
    act(async (image: string, args: string[], o: RawContainerOpts) => {
      const m = await import('./commands/run.js');
      return m.runCmd(image, args, containerOpts(o));
    }),
  );
}

function defineCreate(parent: Command, name = 'create'): void {
  const cmd = parent
    .command(name)
    .description('Create a new container')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
  addContainerFlags(cmd, false).action(
    act(async (image: string, args: string[], o: RawContainerOpts) => {
      const m = await import('./commands/run.js');
      return m.createCmd(image, args, containerOpts(o));
    }),
  );
}

function defineStart(parent: Command): void {
  parent
    .command('start')
    .description('Start one or more stopped containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('-i, --interactive', "Attach container's STDIN")
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .action(
      act(async (names: string[], o: { attach?: boolean; interactive?: boolean; detachKeys?: string }) =>
        (await import('./commands/run.js')).startCmd(names, o),
      ),
    );
}

function defineAttach(parent: Command): void {
  parent
    .command('attach')
    .description('Attach local standard input, output, and error streams to a running container')
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy [bool]', 'Proxy all received signals to the process')
    .action(act(async (name: string, o: { detachKeys?: string; stdin?: boolean; sigProxy?: string | boolean }) => (await import('./commands/attach.js')).attachCmd(name, o)));
}

function defineStopOrRestart(parent: Command, name: 'stop' | 'restart'): void {
  const desc = name === 'stop' ? 'Stop one or more running containers' : 'Restart one or more containers';
  parent
    .command(name)
    .description(desc)
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .option('-t, --time <int>', 'Seconds to wait before killing the container')
    .option('--timeout <int>', 'Seconds to wait before killing the container')
    .action(
      act(async (names: string[], o: { signal?: string; time?: string; timeout?: string }) => {
        const m = await import('./commands/containers.js');
        return name === 'stop' ? m.stopCmd(names, o) : m.restartCmd(names, o);
      }),
    );
}

function defineKill(parent: Command): void {
  parent
    .command('kill')
    .description('Kill one or more running containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .action(act(async (names: string[], o: { signal?: string }) => (await import('./commands/containers.js')).killCmd(names, o)));
}

function defineRm(parent: Command): void {
  parent
    .command('rm')
    .alias('remove')
    .description('Remove one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .option('-l, --link', 'Remove the specified link')
    .action(
      act(async (names: string[], o: { force?: boolean; volumes?: boolean; link?: boolean }) =>
        (await import('./commands/containers.js')).rmCmd(names, o),
      ),
    );
}

function defineUpdate(parent: Command): void {
  parent
    .command('update')
    .description('Update configuration of one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota')
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period')
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--restart <string>', 'Restart policy to apply when a container exits')
    .action(act(async (names: string[], o: Record<string, string | undefined>) => (await import('./commands/update.js')).updateCmd(names, o)));
}

function defineWait(parent: Command): void {
  parent
    .command('wait')
    .description('Block until one or more containers stop, then print their exit codes')
    .usage('CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .action(act(async (names: string[]) => (await import('./commands/containers.js')).waitCmd(names)));
}

function defineLogs(parent: Command): void {
  parent
    .command('logs')
    .description('Fetch the logs of a container')
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('-f, --follow', 'Follow log output')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .option('--details', 'Show extra details provided to logs')
    .action(act(async (name: string, o: Record<string, string | boolean>) => (await import('./commands/containers.js')).logsCmd(name, o)));
}

function defineExec(parent: Command): void {
  parent
    .command('exec')
    .description('Execute a command in a running container')
    .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('--privileged', 'Give extended privileges to the command')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .action(
      act(async (container: string, args: string[], o: Record<string, unknown>) =>
        (await import('./commands/containers.js')).execCmd(container, args, o),
      ),
    );
}

function definePs(parent: Command, name: string, aliases: string[] = []): void {
  const cmd = parent.command(name).description('List containers').usage('[OPTIONS]');
  for (const a of aliases) cmd.alias(a);
  cmd
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-q, --quiet', 'Only display container IDs')
    .option('--no-trunc', "Don't truncate output")
    .option('-s, --size', 'Display total file sizes')
    .option('-n, --last <int>', 'Show n last created containers (includes all states)')
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .action(act(async (o: Record<string, unknown>) => (await import('./commands/containers.js')).psCmd(o)));
}

function defineImages(parent: Command, name: string, aliases: string[] = []): void {
  const cmd = parent.command(name).description('List images').usage('[OPTIONS] [REPOSITORY[:TAG]]').argument('[repository]');
  for (const a of aliases) cmd.alias(a);
  cmd
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('-q, --quiet', 'Only show image IDs')
    .option('--no-trunc', "Don't truncate output")
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .action(
      act(async (repo: string | undefined, o: Record<string, unknown>) => (await import('./commands/images.js')).imagesCmd(repo, o)),
    );
}

function definePull(parent: Command): void {
  parent
    .command('pull')
    .description('Download an image from a registry')
    .usage('[OPTIONS] NAME[:TAG|@DIGEST]')
    .argument('<name>')
    .option('-q, --quiet', 'Suppress verbose output')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(act(async (name: string, o: { quiet?: boolean; platform?: string }) => (await import('./commands/images.js')).pullCmd(name, o)));
}

function defineRmi(parent: Command, name: string, aliases: string[] = []): void {
  const cmd = parent.command(name);
  for (const a of aliases) cmd.alias(a);
  cmd
    .description('Remove one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<image...>')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .action(act(async (names: string[], o: { force?: boolean; prune?: boolean }) => (await import('./commands/images.js')).rmiCmd(names, o)));
}

function defineTag(parent: Command): void {
  parent
    .command('tag')
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .usage('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]')
    .argument('<source>')
    .argument('<target>')
    .action(act(async (s: string, t: string) => (await import('./commands/images.js')).tagCmd(s, t)));
}

function defineHistory(parent: Command): void {
  parent
    .command('history')
    .description('Show the history of an image')
    .usage('[OPTIONS] IMAGE')
    .argument('[image]')
    .option('--format <string>', 'Format output using a custom template')
    .option('-H, --human [bool]', 'Print sizes and dates in human readable format (default true)')
    .option('--no-trunc', "Don't truncate output")
    .option('--platform <string>', 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")')
    .option('-q, --quiet', 'Only show image IDs')
    .action(act(async (image: string | undefined, o: HistoryOptions) => (await import('./commands/history.js')).historyCmd(image, o)));
}

function defineInspect(parent: Command, kind: 'any' | 'container' | 'image'): void {
  const cmd = parent
    .command('inspect')
    .description(
      kind === 'image' ? 'Display detailed information on one or more images' : kind === 'container' ? 'Display detailed information on one or more containers' : 'Return low-level information on Docker objects',
    )
    .usage(`[OPTIONS] ${kind === 'image' ? 'IMAGE [IMAGE...]' : kind === 'container' ? 'CONTAINER [CONTAINER...]' : 'NAME|ID [NAME|ID...]'}`)
    .argument('<name...>')
    .option('-f, --format <string>', 'Format output using a custom template');
  if (kind !== 'image') cmd.option('-s, --size', 'Display total file sizes');
  if (kind === 'any') cmd.option('--type <string>', 'Only inspect objects of the given type');
  cmd.action(
    act(async (names: string[], o: { format?: string; size?: boolean; type?: string }) => {
      if (kind === 'image') return (await import('./commands/images.js')).imageInspectCmd(names, o);
      const m = await import('./commands/containers.js');
      return m.inspectCmd(names, { ...o, ...(kind === 'container' ? { type: 'container' } : {}) });
    }),
  );
}

function definePort(parent: Command): void {
  parent
    .command('port')
    .description('List port mappings or a specific mapping for the container')
    .usage('CONTAINER [PRIVATE_PORT[/PROTO]]')
    .argument('<container>')
    .argument('[private-port]')
    .action(act(async (container: string, port: string | undefined) => (await import('./commands/port.js')).portCmd(container, port)));
}

function defineNetworkGroup(program: Command): void {
  const network = program.command('network').description('Manage networks').usage('COMMAND');
  const load = (): Promise<typeof import('./commands/network.js')> => import('./commands/network.js');
  network
    .command('connect')
    .description('Connect a container to a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <strings>', 'Add network-scoped alias for the container', collect)
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
    .action(act(async (net: string, ctr: string, o: { alias?: string[]; ip?: string; ip6?: string }) => (await load()).networkConnectCmd(net, ctr, o)));
  network
    .command('create')
    .description('Create a network')
    .usage('[OPTIONS] NETWORK')
    .argument('<network>')
    .option('--attachable', 'Enable manual container attachment')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect)
    .option('--internal', 'Restrict external access to the network')
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect)
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--ipv6', 'Enable or disable IPv6 address assignment')
    .option('--label <list>', 'Set metadata on a network', collect)
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect)
    .action(act(async (name: string, o: Record<string, unknown>) => (await load()).networkCreateCmd(name, o)));
  network
    .command('disconnect')
    .description('Disconnect a container from a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(act(async (net: string, ctr: string, o: { force?: boolean }) => (await load()).networkDisconnectCmd(net, ctr, o)));
  network
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<network...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .action(act(async (names: string[], o: { format?: string; verbose?: boolean }) => (await load()).networkInspectCmd(names, o)));
  network
    .command('ls')
    .alias('list')
    .description('List networks')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs')
    .action(act(async (o: Record<string, unknown>) => (await load()).networkLsCmd(o)));
  network
    .command('prune')
    .description('Remove all unused networks')
    .usage('[OPTIONS]')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(act(async (o: { force?: boolean; filter?: string[] }) => (await load()).networkPruneCmd(o)));
  network
    .command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .usage('NETWORK [NETWORK...]')
    .argument('<network...>')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(act(async (names: string[], o: { force?: boolean }) => (await load()).networkRmCmd(names, o)));
}

function defineSave(parent: Command): void {
  parent
    .command('save')
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<image...>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(act(async (images: string[], o: { output?: string }) => (await import('./commands/image-archive.js')).saveCmd(images, o)));
}

function defineLoad(parent: Command): void {
  parent
    .command('load')
    .description('Load an image from a tar archive or STDIN')
    .usage('[OPTIONS]')
    .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .action(act(async (o: { input?: string; quiet?: boolean }) => (await import('./commands/image-archive.js')).loadCmd(o)));
}

function defineImport(parent: Command): void {
  parent
    .command('import')
    .description('Import the contents from a tarball to create a filesystem image')
    .usage('[OPTIONS] file|URL|- [REPOSITORY[:TAG]]')
    .argument('<file>')
    .argument('[repository]')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(
      act(async (file: string, ref: string | undefined, o: { change?: string[]; message?: string; platform?: string }) =>
        (await import('./commands/image-archive.js')).importCmd(file, ref, o),
      ),
    );
}

function defineCommit(parent: Command): void {
  parent
    .command('commit')
    .description("Create a new image from a container's changes")
    .usage('[OPTIONS] CONTAINER [REPOSITORY[:TAG]]')
    .argument('<container>')
    .argument('[repository]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Commit message')
    .option('-p, --pause [bool]', 'Pause container during commit (default true)')
    .action(
      act(async (container: string, ref: string | undefined, o: { author?: string; change?: string[]; message?: string; pause?: string | boolean }) =>
        (await import('./commands/image-archive.js')).commitCmd(container, ref, o),
      ),
    );
}

function defineSystemGroup(program: Command): void {
  const system = program.command('system').description('Manage Docker').usage('COMMAND');
  system
    .command('df')
    .description('Show docker disk usage')
    .usage('[OPTIONS]')
    .option('--format <string>', 'Format output using a custom template: \'table\', \'table TEMPLATE\', \'json\' or \'TEMPLATE\'')
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(act(async (o: { verbose?: boolean; format?: string }) => (await import('./commands/system-df.js')).systemDfCmd(o)));
  system
    .command('prune')
    .description('Remove unused data')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--volumes', 'Prune anonymous volumes')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', collect)
    .action(act(async (o: { all?: boolean; volumes?: boolean; force?: boolean; filter?: string[] }) => (await import('./commands/system-df.js')).systemPruneCmd(o)));
  defineInfo(system);
  defineEvents(system);
}

function defineVersion(program: Command): void {
  program
    .command('version')
    .description('Show the Docker version information')
    .usage('[OPTIONS]')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(act(async (o: { format?: string }) => (await import('./commands/system.js')).versionCmd(o)));
}

function defineInfo(program: Command): void {
  program
    .command('info')
    .description('Display system-wide information')
    .usage('[OPTIONS]')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(act(async (o: { format?: string }) => (await import('./commands/system.js')).infoCmd(o)));
}

function defineLogin(program: Command): void {
  program
    .command('login')
    .description('Authenticate to a registry')
    .usage('[OPTIONS] [SERVER]')
    .argument('[server]')
    .option('-u, --username <string>', 'Username')
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
    .action(
      act(async (server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean }) =>
        (await import('./commands/system.js')).loginCmd(server, o),
      ),
    );
}

function defineLogout(program: Command): void {
  program
    .command('logout')
    .description('Log out from a registry')
    .usage('[SERVER]')
    .argument('[server]')
    .action(act(async (server: string | undefined) => (await import('./commands/system.js')).logoutCmd(server)));
}

function defineCompletion(program: Command): void {
  program
    .command('completion')
    .description('Output shell completion code for bash or zsh')
    .usage('bash|zsh')
    .argument('<shell>')
    .action(
      act(async (shell: string) => {
        const { bashCompletion, zshCompletion } = await import('./completion.js');
        if (shell !== 'bash' && shell !== 'zsh') throw new CliError(`unsupported shell "${shell}": expected bash or zsh`, 1);
        // The script describes every command, not just the one being run.
        const full = buildProgram();
        process.stdout.write(shell === 'bash' ? bashCompletion(full) : zshCompletion(full));
        return 0;
      }),
    );
}

function defineImageGroup(program: Command): void {
  const image = program.command('image').description('Manage images').usage('COMMAND');
  defineImages(image, 'ls', ['list']);
  defineInspect(image, 'image');
  definePull(image);
  defineHistory(image);
  defineRmi(image, 'rm', ['remove', 'rmi']);
  defineTag(image);
  defineSave(image);
  defineLoad(image);
  defineImport(image);
  image
    .command('prune')
    .description('Remove unused images')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(act(async (o: { all?: boolean; force?: boolean; filter?: string[] }) => (await import('./commands/prune.js')).imagePruneCmd(o)));
}

function defineContainerGroup(program: Command): void {
  const container = program.command('container').description('Manage containers').usage('COMMAND');
  defineRun(container);
  defineCreate(container);
  for (const define of CONTAINER_COMMANDS) define(container);
  definePs(container, 'ls', ['ps', 'list']);
  defineInspect(container, 'container');
  defineCommit(container);
  container
    .command('prune')
    .description('Remove all stopped containers')
    .usage('[OPTIONS]')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(act(async (o: { force?: boolean; filter?: string[] }) => (await import('./commands/prune.js')).containerPruneCmd(o)));
}

function defineVolumeGroup(program: Command): void {
  const volume = program.command('volume').description('Manage volumes').usage('COMMAND');
  const load = (): Promise<typeof import('./commands/volumes.js')> => import('./commands/volumes.js');
  volume
    .command('create')
    .description('Create a volume')
    .usage('[OPTIONS] [VOLUME]')
    .argument('[volume]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect)
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .option('--name <string>', 'Specify volume name')
    .action(act(async (name: string | undefined, o: { driver?: string; opt?: string[]; label?: string[]; name?: string }) => (await load()).volumeCreateCmd(name, o)));
  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display volume names')
    .action(act(async (o: { quiet?: boolean; filter?: string[]; format?: string }) => (await load()).volumeLsCmd(o)));
  volume
    .command('inspect')
    .description('Display detailed information on one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<volume...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(act(async (names: string[], o: { format?: string }) => (await load()).volumeInspectCmd(names, o)));
  volume
    .command('rm')
    .alias('remove')
    .description('Remove one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<volume...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(act(async (names: string[], o: { force?: boolean }) => (await load()).volumeRmCmd(names, o)));
  volume
    .command('prune')
    .description('Remove unused local volumes')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', "Provide filter values (e.g. 'label=<label>')", collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(act(async (o: { all?: boolean; force?: boolean; filter?: string[] }) => (await load()).volumePruneCmd(o)));
}

const CONTAINER_COMMANDS: Array<(p: Command) => void> = [
  defineStart,
  defineAttach,
  (p) => defineStopOrRestart(p, 'stop'),
  (p) => defineStopOrRestart(p, 'restart'),
  defineKill,
  defineRm,
  defineWait,
  defineLogs,
  defineExec,
  defineUpdate,
  definePort,
  ...LIFECYCLE_CONTAINER_COMMANDS,
];

/** Top-level command name → what defines it (so a run defines only the command it needs). */
const TOP_LEVEL: Record<string, (p: Command) => void> = {
  run: (p) => defineRun(p),
  create: (p) => defineCreate(p),
  start: defineStart,
  attach: defineAttach,
  stop: CONTAINER_COMMANDS[2] as (p: Command) => void,
  restart: CONTAINER_COMMANDS[3] as (p: Command) => void,
  kill: defineKill,
  rm: defineRm,
  wait: defineWait,
  logs: defineLogs,
  exec: defineExec,
  update: defineUpdate,
  port: definePort,
  ps: (p) => definePs(p, 'ps'),
  images: (p) => defineImages(p, 'images'),
  pull: definePull,
  rmi: (p) => defineRmi(p, 'rmi'),
  tag: defineTag,
  history: defineHistory,
  inspect: (p) => defineInspect(p, 'any'),
  version: defineVersion,
  info: defineInfo,
  login: defineLogin,
  logout: defineLogout,
  image: defineImageGroup,
  container: defineContainerGroup,
  volume: defineVolumeGroup,
  network: defineNetworkGroup,
  ...LIFECYCLE_TOP_LEVEL,
  save: defineSave,
  load: defineLoad,
  import: defineImport,
  commit: defineCommit,
  system: defineSystemGroup,
  completion: defineCompletion,
};

/** The first non-option word of argv (the command), skipping global options and their values. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') return argv[i + 1];
    if (a.startsWith('-')) {
      if (['-H', '--host', '--config', '-l', '--log-level'].includes(a)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}

/** Builds the command tree; with `topLevel`, only that command (help and errors need all). */
export function buildProgram(topLevel?: string): Command {
  const program = new Command('berth');
  program
    .description('A self-sufficient runtime for containers')
    .usage('[OPTIONS] COMMAND')
    .option('-H, --host <host>', 'Daemon socket to connect to (unix:///path)')
    .option('-D, --debug', 'Enable debug mode')
    .option('-l, --log-level <string>', 'Set the logging level ("debug", "info", "warn", "error", "fatal")')
    .option('--config <string>', 'Location of client config files')
    .version(`berth version ${VERSION}`, '-v, --version', 'Print version information and quit')
    .enablePositionalOptions()
    .allowExcessArguments(false)
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  program.hook('preAction', (thisCommand) => {
    const o = thisCommand.opts<{ host?: string; config?: string }>();
    let root: Command = thisCommand;
    while (root.parent) root = root.parent;
    const g = root.opts<{ host?: string; config?: string }>();
    setHostFlag(g.host ?? o.host);
    if (g.config) process.env['DOCKER_CONFIG'] = g.config;
  });

  const only = topLevel ? TOP_LEVEL[topLevel] : undefined;
  if (only) only(program);
  else for (const define of new Set(Object.values(TOP_LEVEL))) define(program);
  return program;
}

/** The command path (e.g. "run", "image ls") named on the command line, for error hints. */
function commandPath(program: Command, argv: readonly string[]): string {
  let cmd: Command = program;
  const path: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('-')) {
      if ((a === '-H' || a === '--host' || a === '--config' || a === '-l' || a === '--log-level') && cmd === program) i++;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    path.push(sub.name());
    cmd = sub;
    if (sub.commands.length === 0) break;
  }
  return path.join(' ');
}

function usageLine(program: Command, path: string): string {
  let cmd: Command = program;
  for (const p of path.split(' ').filter(Boolean)) {
    cmd = cmd.commands.find((c) => c.name() === p) ?? cmd;
  }
  return `Usage:  berth ${path === '' ? '' : `${path} `}${cmd.usage()}`;
}

type ArgSpec = ['min' | 'exact' | 'max' | 'none', number] | ['range', number, number];

/** The docker CLI's positional-argument rules (cli/required.go), by command. */
const ARG_SPECS: Record<string, ArgSpec> = {
  run: ['min', 1],
  create: ['min', 1],
  start: ['min', 1],
  attach: ['exact', 1],
  stop: ['min', 1],
  restart: ['min', 1],
  kill: ['min', 1],
  rm: ['min', 1],
  wait: ['min', 1],
  logs: ['exact', 1],
  exec: ['min', 2],
  ps: ['none', 0],
  ls: ['none', 0],
  images: ['max', 1],
  pull: ['exact', 1],
  rmi: ['min', 1],
  tag: ['exact', 2],
  history: ['exact', 1],
  inspect: ['min', 1],
  version: ['none', 0],
  info: ['none', 0],
  login: ['max', 1],
  logout: ['max', 1],
  port: ['range', 1, 2],
  connect: ['exact', 2],
  disconnect: ['exact', 2],
  prune: ['none', 0],
  save: ['min', 1],
  load: ['none', 0],
  import: ['min', 1],
  commit: ['min', 1],
  df: ['none', 0],
  ...LIFECYCLE_ARG_SPECS,
  completion: ['exact', 1],
};

/** Where a command's rule differs from another command of the same name. */
const PATH_ARG_SPECS: Record<string, ArgSpec> = {
  'image ls': ['max', 1],
  'volume create': ['max', 1],
  'network create': ['exact', 1],
};

/** cli.RequiresMinArgs / ExactArgs / RequiresMaxArgs / NoArgs messages. */
export function argCountMessage(path: string, useLine: string): string {
  const leaf = path.split(' ').pop() ?? path;
  const spec = PATH_ARG_SPECS[path] ?? ARG_SPECS[leaf];
  const cp = `berth ${path}`;
  const plural = (n: number): string => (n === 1 ? 'argument' : 'arguments');
  if (!spec) return `berth: '${cp}' received an unexpected number of arguments\n\nUsage:  ${useLine}\n\nRun '${cp} --help' for more information`;
  const [kind, n] = spec;
  switch (kind) {
    case 'range':
      return `berth: '${cp}' requires at least ${n} and at most ${spec[2]} ${plural(spec[2] ?? n)}\n\nUsage:  ${useLine}\n\nRun '${cp} --help' for more information`;
    case 'min':
      return `berth: '${cp}' requires at least ${n} ${plural(n)}\n\nUsage:  ${useLine}\n\nSee '${cp} --help' for more information`;
    case 'exact':
      return `berth: '${cp}' requires ${n} ${plural(n)}\n\nUsage:  ${useLine}\n\nRun '${cp} --help' for more information`;
    case 'max':
      return `berth: '${cp}' requires at most ${n} ${plural(n)}\n\nUsage:  ${useLine}\n\nRun '${cp} --help' for more information`;
    case 'none':
      return `berth: '${cp}' accepts no arguments\n\nUsage:  ${useLine}\n\nRun '${cp} --help' for more information`;
  }
}

/** Turns commander's parse errors into docker's wording and exit statuses. */
function reportCommanderError(program: Command, e: CommanderError, argv: readonly string[]): number {
  const path = commandPath(program, argv);
  const msg = e.message.replace(/^error: /, '');
  switch (e.code) {
    case 'commander.helpDisplayed':
    case 'commander.help':
    case 'commander.version':
      return 0;
    case 'commander.unknownCommand': {
      const m = /unknown command '([^']*)'/.exec(msg);
      // Under a group (image, network…) docker shows the group's usage line too.
      const usage = path ? `\n\nUsage:  berth ${path}` : '';
      eprintln(`berth: unknown command: berth ${path ? `${path} ` : ''}${m?.[1] ?? ''}${usage}\n\nRun 'berth ${path ? `${path} ` : ''}--help' for more information`);
      return 1;
    }
    case 'commander.unknownOption': {
      const m = /unknown option '([^']*)'/.exec(msg);
      const flag = m?.[1] ?? msg;
      eprintln(`unknown ${flag.startsWith('--') ? 'flag' : 'shorthand flag'}: ${flag.startsWith('--') ? flag : `'${flag.replace(/^-/, '').charAt(0)}' in ${flag}`}\n\n${usageLine(program, path)}\n\nRun 'berth ${path} --help' for more information`);
      return 125;
    }
    case 'commander.optionMissingArgument': {
      // A flag missing its value is the last word: named as typed, pflag-style ("--name", "'f' in -f").
      const typed = argv[argv.length - 1] ?? '';
      const flag = typed.startsWith('--') ? typed : `'${typed.slice(-1)}' in ${typed}`;
      eprintln(`flag needs an argument: ${flag}\n\n${usageLine(program, path)}\n\nRun 'berth ${path} --help' for more information`);
      return 125;
    }
    case 'commander.invalidArgument':
      eprintln(`${msg}\n\nRun 'berth ${path} --help' for more information`);
      return 125;
    case 'commander.missingArgument':
    case 'commander.excessArguments': {
      eprintln(argCountMessage(path, usageLine(program, path).replace(/^Usage:  /, '')));
      return 1;
    }
    case 'commander.executeSubCommandAsync':
    default:
      eprintln(`berth: ${msg}`);
      return 1;
  }
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const word = commandWord(argv);
  const program = buildProgram(word !== undefined && word in TOP_LEVEL && word !== 'help' ? word : undefined);
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(normalizeGoBools(program, argv), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return reportCommanderError(program, e, argv);
    if (e instanceof InvalidGoBool) {
      const path = commandPath(program, argv);
      eprintln(`${e.message}\n\n${usageLine(program, path)}\n\nRun 'berth ${path} --help' for more information`);
      return 125;
    }
    if (e instanceof CliError) {
      if (e.message !== '') eprintln(e.message);
      return e.exitCode;
    }
    eprintln(displayError(e));
    return 1;
  }
}

