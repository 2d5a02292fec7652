/** Container records as berth stores them; field names follow Docker's inspect output where they surface there. */
import type { Digest } from '../core/digest.js';
import type { HealthConfig, ImageRuntimeConfig } from '../oci/image.js';
import type { ContainerResources } from '../runtime/resources.js';
import type { ContainerNetworkRequest, ContainerNetworkState } from '../network/types.js';
import type { ApiMount, MountPoint } from '../volumes/mount-spec.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  conmonPid: number;
  exitCode: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
}

export interface ContainerSpecRequest {
  image: string;
  cmd: string[] | null;
  entrypoint: string[] | null;
  env: string[];
  workingDir: string;
  user: string;
  hostname: string;
  domainname: string;
  tty: boolean;
  openStdin: boolean;
  stdinOnce: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  labels: Record<string, string>;
  stopSignal?: string;
  stopTimeout?: number;
  exposedPorts: Record<string, object>;
  volumes: Record<string, object>;
  /** HostConfig.Binds, Mounts, Tmpfs, VolumesFrom as given (inspect shows them back); absent in records older than volumes. */
  binds?: string[];
  mounts?: ApiMount[];
  tmpfs?: Record<string, string>;
  volumesFrom?: string[];
  network: ContainerNetworkRequest;
  autoRemove: boolean;
  restartPolicy: { name: string; maximumRetryCount: number };
  groupAdd: string[];
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  readonlyRootfs: boolean;
  shmSize: number;
  consoleSize?: { height: number; width: number };
  /** Absent in records made before limits existed: no limits. */
  resources?: ContainerResources;
  /** As given (`seccomp=` carries the profile JSON); parsed again at every start. */
  securityOpt?: string[];
  sysctls?: Record<string, string>;
  oomScoreAdj?: number;
  /** Run an init (catatonit) as PID 1 in front of the process. */
  init?: boolean;
  /** HostConfig.PidMode, IpcMode and UTSMode as given ('' or absent: the container's own namespace). */
  pidMode?: string;
  ipcMode?: string;
  utsMode?: string;
  /** HostConfig.CgroupnsMode: 'private', 'host', or absent for the daemon's default (private on cgroup v2, host on v1). */
  cgroupnsMode?: string;
  /** HostConfig.MaskedPaths/ReadonlyPaths as given (an empty list masks nothing); absent: Docker's defaults. */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /** HostConfig.DeviceCgroupRules: `c 1:3 mr`, `b *:* m`, … allowed on top of the defaults. */
  deviceCgroupRules?: string[];
  /** HostConfig.Annotations: the OCI spec's annotations. */
  annotations?: Record<string, string>;
  /** Config.NetworkDisabled: the container got network mode none whatever the body named. */
  networkDisabled?: boolean;
  /** HostConfig.UsernsMode `host` as given (berth never remaps, so it changes nothing). */
  usernsMode?: 'host';
  /** HostConfig.CgroupParent (absolute); absent: berthd's --cgroup-parent. */
  cgroupParent?: string;
  /** HostConfig.LogConfig merged with the daemon's defaults at create; absent in older records (no options). */
  logConfig?: { type: string; config: Record<string, string> };
  /** The request's Healthcheck, merged with the image's at create. */
  healthcheck?: HealthConfig;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** Docker's State.Health: the status, the failures in a row and the last 5 probe results. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  imageId: Digest;
  /** The image's config and layers as of create: the container keeps working if the image is re-tagged. */
  imageConfig: ImageRuntimeConfig;
  chainIds: Digest[];
  request: ContainerSpecRequest;
  /** The resolved process (after the image/request merge), for inspect's Path/Args. */
  path: string;
  args: string[];
  state: ContainerState;
  restartCount: number;
  /** Stopped or killed through the API: `unless-stopped` leaves it down (Docker's HasBeenManuallyStopped). */
  manuallyStopped?: boolean;
  /** The sandbox of a running container (absent when it is not running). */
  network?: ContainerNetworkState;
  /** Binds, volumes and tmpfs mounts as resolved at create (inspect's `Mounts`). */
  mounts?: MountPoint[];
  /** The health check's state as of its last probe, so it survives a berthd restart; absent without a health check. */
  health?: HealthState;
}
