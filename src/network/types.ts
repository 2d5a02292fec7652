/** What a container asks of the network, and what it got. Field names follow Docker's where they surface in its API. */

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface EndpointRequest {
  /** Network name or ID, as the user gave it. */
  network: string;
  aliases: string[];
  ipv4Address: string;
  ipv6Address: string;
  macAddress: string;
}

/** One `-p`: hostPortStart/End 0 asks for an ephemeral port; a range asks for any free port in it. */
export interface PortBindingRequest {
  containerPort: number;
  protocol: PortProtocol;
  hostIp: string;
  hostPortStart: number;
  hostPortEnd: number;
}

export interface ContainerNetworkRequest {
  /** HostConfig.NetworkMode: default, bridge, none, host, container:<id|name>, or a network's name or ID. */
  mode: string;
  /** The networks to join, the primary (mode's) network first. Empty for none/host/container:. */
  endpoints: EndpointRequest[];
  portBindings: PortBindingRequest[];
  publishAllPorts: boolean;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  /** `--add-host name:ip`; ip may be `host-gateway`. */
  extraHosts: string[];
}

export interface PublishedPort {
  containerPort: number;
  protocol: PortProtocol;
  hostIp: string;
  hostPort: number;
}

export interface Endpoint {
  networkId: string;
  networkName: string;
  endpointId: string;
  ifName: string;
  /** CIDR notation, e.g. 10.88.0.2/16. */
  ipv4: string;
  gateway: string;
  ipv6: string;
  gateway6: string;
  mac: string;
  aliases: string[];
  /** Names this endpoint answers to in berth's DNS on its network. */
  dnsNames: string[];
}

/** A running container's network sandbox: cleared when it stops. */
export interface ContainerNetworkState {
  sandboxKey: string;
  endpoints: Endpoint[];
  ports: PublishedPort[];
}
