/**
 * Turns what ContainerManager and ExecManager emit into Docker's container events. Each
 * manager event is one line of the table below: adding an event type is adding a line.
 */
import type { ExecManager, ExecSession } from '../containers/exec.js';
import type { ContainerManager } from '../containers/manager.js';
import type { ContainerRecord } from '../containers/types.js';
import type { EventBus } from './events.js';

/** What one manager event means as a Docker event: the container, the action, extra attributes. */
interface ContainerEventSpec {
  id: string;
  action: string;
  attributes?: Record<string, string>;
  /** For events about a container that is already gone (destroy). */
  record?: ContainerRecord;
}

type Translate = (...args: never[]) => ContainerEventSpec;

/** Manager event name → Docker event (argument lists are what the manager emits). */
const CONTAINER_EVENTS: Record<string, Translate> = {
  create: (id: string) => ({ id, action: 'create' }),
  start: (id: string) => ({ id, action: 'start' }),
  exit: (id: string, exitCode: number) => ({ id, action: 'die', attributes: { exitCode: String(exitCode) } }),
  kill: (id: string, signal: number) => ({ id, action: 'kill', attributes: { signal: String(signal) } }),
  stop: (id: string) => ({ id, action: 'stop' }),
  pause: (id: string) => ({ id, action: 'pause' }),
  unpause: (id: string) => ({ id, action: 'unpause' }),
  restart: (id: string) => ({ id, action: 'restart' }),
  rename: (id: string, oldName: string) => ({ id, action: 'rename', attributes: { oldName: `/${oldName}` } }),
  attach: (id: string) => ({ id, action: 'attach' }),
  resize: (id: string, height: number, width: number) => ({ id, action: 'resize', attributes: { height: String(height), width: String(width) } }),
  remove: (id: string, _exitCode: number, record: ContainerRecord) => ({ id, action: 'destroy', record }),
  health_status: (id: string, status: string) => ({ id, action: `health_status: ${status}` }),
};

/** dockerd's actor attributes: the container's labels (image's and its own), image, name. */
export function containerAttributes(record: ContainerRecord): Record<string, string> {
  return { ...(record.imageConfig.Labels ?? {}), ...record.request.labels, image: record.request.image, name: record.name };
}

/** "exec_create: sh -c true" — dockerd puts the command line in the action. */
function execAction(action: string, session: ExecSession): string {
  const [entrypoint = '', ...args] = session.config.cmd;
  return `${action}: ${entrypoint} ${args.join(' ')}`;
}

export function publishContainerEvents(containers: ContainerManager, execs: ExecManager, bus: EventBus): void {
  const publish = (spec: ContainerEventSpec): void => {
    const record = spec.record ?? containers.peek(spec.id);
    if (!record) return;
    bus.publish('container', spec.action, { ID: record.id, Attributes: { ...containerAttributes(record), ...spec.attributes } });
  };
  for (const [name, translate] of Object.entries(CONTAINER_EVENTS)) {
    containers.on(name, (...args: unknown[]) => publish((translate as (...a: unknown[]) => ContainerEventSpec)(...args)));
  }

  // dockerd's prune event has no actor, only what the prune reclaimed.
  containers.on('prune', (reclaimed: number) => bus.publish('container', 'prune', { ID: '', Attributes: { reclaimed: String(reclaimed) } }));

  const sessions = new Map<string, ExecSession>();
  const execEvent = (session: ExecSession, action: string, attributes: Record<string, string> = {}): void =>
    publish({ id: session.containerId, action, attributes: { execID: session.id, ...attributes } });
  execs.on('create', (session: ExecSession) => {
    sessions.set(session.id, session);
    execEvent(session, execAction('exec_create', session));
  });
  execs.on('start', (session: ExecSession) => execEvent(session, execAction('exec_start', session)));
  execs.on('exit', (execId: string, exitCode: number) => {
    const session = sessions.get(execId);
    sessions.delete(execId);
    if (session) execEvent(session, 'exec_die', { exitCode: String(exitCode) });
  });
  // Sessions created but never started go with their container.
  containers.on('remove', (id: string) => {
    for (const [execId, session] of sessions) if (session.containerId === id) sessions.delete(execId);
  });
}
