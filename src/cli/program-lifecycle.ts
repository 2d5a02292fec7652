/**
 * Declarations of cp, export, stats, events, pause, unpause, rename, top and diff (docker's
 * flags), kept apart from program.ts so the command tree grows by registration;
 * implementations load when a command runs.
 */
import type { Command } from 'commander';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function act<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    process.exitCode = await fn(...args);
  };
}

function defineCp(parent: Command): void {
  parent
    .command('cp')
    .description('Copy files/folders between a container and the local filesystem')
    .usage('[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH')
    .argument('<source>')
    .argument('<destination>')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'Suppress progress output during copy')
    .action(
      act(async (source: string, destination: string, o: { archive?: boolean; followLink?: boolean; quiet?: boolean }) =>
        (await import('./commands/cp.js')).cpCmd(source, destination, o),
      ),
    );
}

function defineExport(parent: Command): void {
  parent
    .command('export')
    .description("Export a container's filesystem as a tar archive")
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(act(async (name: string, o: { output?: string }) => (await import('./commands/lifecycle.js')).exportCmd(name, o)));
}

function defineStats(parent: Command): void {
  parent
    .command('stats')
    .description('Display a live stream of container(s) resource usage statistics')
    .usage('[OPTIONS] [CONTAINER...]')
    .argument('[containers...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--no-trunc', "Don't truncate output")
    .action(
      act(async (names: string[], o: { all?: boolean; format?: string; stream?: boolean; trunc?: boolean }) =>
        (await import('./commands/lifecycle.js')).statsCmd(names, o),
      ),
    );
}

/** Also `system events`, which program.ts defines in its system group. */
export function defineEvents(parent: Command): void {
  parent
    .command('events')
    .description('Get real time events from the server')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(
      act(async (o: { filter?: string[]; format?: string; since?: string; until?: string }) => (await import('./commands/lifecycle.js')).eventsCmd(o)),
    );
}

function definePauseOrUnpause(parent: Command, name: 'pause' | 'unpause'): void {
  parent
    .command(name)
    .description(`${name === 'pause' ? 'Pause' : 'Unpause'} all processes within one or more containers`)
    .usage('CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .action(
      act(async (names: string[]) => {
        const m = await import('./commands/containers.js');
        return name === 'pause' ? m.pauseCmd(names) : m.unpauseCmd(names);
      }),
    );
}

const definePause = (parent: Command): void => definePauseOrUnpause(parent, 'pause');
const defineUnpause = (parent: Command): void => definePauseOrUnpause(parent, 'unpause');

function defineRename(parent: Command): void {
  parent
    .command('rename')
    .description('Rename a container')
    .usage('CONTAINER NEW_NAME')
    .argument('<container>')
    .argument('<new-name>')
    .action(act(async (container: string, newName: string) => (await import('./commands/containers.js')).renameCmd(container, newName)));
}

function defineTop(parent: Command): void {
  parent
    .command('top')
    .description('Display the running processes of a container')
    .usage('CONTAINER [ps OPTIONS]')
    .argument('<container>')
    .argument('[ps-options...]')
    // Everything after CONTAINER is ps's, flags included (docker: SetInterspersed(false)).
    .passThroughOptions()
    .action(act(async (container: string, psOptions: string[]) => (await import('./commands/top.js')).topCmd(container, psOptions)));
}

function defineDiff(parent: Command): void {
  parent
    .command('diff')
    .description("Inspect changes to files or directories on a container's filesystem")
    .usage('CONTAINER')
    .argument('<container>')
    .action(act(async (container: string) => (await import('./commands/diff.js')).diffCmd(container)));
}

/** Top-level commands (also defined under `berth container`, except events). */
export const LIFECYCLE_TOP_LEVEL: Record<string, (p: Command) => void> = {
  cp: defineCp,
  export: defineExport,
  stats: defineStats,
  events: defineEvents,
  pause: definePause,
  unpause: defineUnpause,
  rename: defineRename,
  top: defineTop,
  diff: defineDiff,
};

export const LIFECYCLE_CONTAINER_COMMANDS: Array<(p: Command) => void> = [
  defineCp,
  defineExport,
  defineStats,
  definePause,
  defineUnpause,
  defineRename,
  defineTop,
  defineDiff,
];

/** The docker CLI's positional-argument rules for these commands. */
export const LIFECYCLE_ARG_SPECS: Record<string, ['min' | 'exact' | 'max' | 'none', number]> = {
  cp: ['exact', 2],
  export: ['exact', 1],
  events: ['none', 0],
  pause: ['min', 1],
  unpause: ['min', 1],
  rename: ['exact', 2],
  top: ['min', 1],
  diff: ['exact', 1],
};
