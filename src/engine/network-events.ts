/**
 * Docker's network events (create, destroy, connect, disconnect) from what NetworkManager and
 * ContainerManager emit. The actor is the network's ID with its `name` and `type` (the driver),
 * plus `container` for connect and disconnect (moby daemon/events.go LogNetworkEvent).
 */
import type { ContainerManager } from '../containers/manager.js';
import type { NetworkManager } from '../network/manager.js';
import type { NetworkRecord } from '../network/networks.js';
import type { EventBus } from './events.js';

export function publishNetworkEvents(network: NetworkManager, containers: ContainerManager, bus: EventBus): void {
  const publish = (action: string, record: NetworkRecord, attributes: Record<string, string> = {}): void => {
    bus.publish('network', action, { ID: record.id, Attributes: { name: record.name, type: record.driver, ...attributes } });
  };
  network.on('create', (record: NetworkRecord) => publish('create', record));
  network.on('remove', (record: NetworkRecord) => publish('destroy', record));
  // Networks hold no disk space: dockerd always reports 0.
  network.on('prune', () => bus.publish('network', 'prune', { ID: '', Attributes: { reclaimed: '0' } }));
  const membership = (action: string) => (containerId: string, networkId: string): void => {
    const record = network.store.find(networkId);
    if (record) publish(action, record, { container: containerId });
  };
  containers.on('connect', membership('connect'));
  containers.on('disconnect', membership('disconnect'));
}
