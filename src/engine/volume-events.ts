/**
 * Docker's volume events (create, destroy, mount, unmount, prune) from what VolumeStore and
 * ContainerManager emit. The actor is the volume's name; the attributes are dockerd's
 * (daemon/volumes_unix.go, container/mounts_unix.go, volume/service).
 */
import type { ContainerManager } from '../containers/manager.js';
import type { VolumeRecord, VolumeStore } from '../volumes/store.js';
import type { MountPoint } from '../volumes/mount-spec.js';
import type { EventBus } from './events.js';

export function publishVolumeEvents(volumes: VolumeStore, containers: ContainerManager, bus: EventBus): void {
  volumes.on('create', (volume: VolumeRecord) => bus.publish('volume', 'create', { ID: volume.name, Attributes: { driver: volume.driver } }));
  volumes.on('remove', (volume: VolumeRecord) => bus.publish('volume', 'destroy', { ID: volume.name, Attributes: { driver: volume.driver } }));
  volumes.on('prune', (reclaimed: number) => bus.publish('volume', 'prune', { ID: '', Attributes: { reclaimed: String(reclaimed) } }));
  containers.on('mount', (containerId: string, point: MountPoint) =>
    bus.publish('volume', 'mount', {
      ID: point.name,
      Attributes: { container: containerId, destination: point.destination, driver: point.driver, propagation: point.propagation, 'read/write': String(point.rw) },
    }),
  );
  containers.on('unmount', (containerId: string, point: MountPoint) =>
    bus.publish('volume', 'unmount', { ID: point.name, Attributes: { container: containerId, driver: point.driver } }),
  );
}
