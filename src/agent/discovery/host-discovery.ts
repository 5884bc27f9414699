import { hostname as osHostname, networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { isIP } from 'node:net';
import type { HostPort } from '../../shared/config/parsers.ts';

/** What the agent learns about the host it runs on. */
export interface HostIdentity {
  hostname: string;
  /** Non-internal addresses, Kubernetes' POD_IP/POD_IPS first. */
  ips: string[];
}

/** Inputs of discovery, injectable for tests. */
export interface DiscoverySources {
  env: Record<string, string | undefined>;
  hostname: () => string;
  interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

const systemSources: DiscoverySources = { env: process.env, hostname: osHostname, interfaces: networkInterfaces };

/**
 * The host's name and reachable addresses: every non-internal IPv4 and IPv6
 * address, without IPv6 link-local ones (fe80::/10 needs an interface scope
 * that a peer on another host cannot use). POD_IP and POD_IPS (Downward API)
 * come first when set, because in a pod they are the addresses peers reach.
 */
export function discoverHost(sources: DiscoverySources = systemSources): HostIdentity {
  const fromPod = [sources.env['POD_IP'], ...(sources.env['POD_IPS'] ?? '').split(',')]
    .map((ip) => ip?.trim() ?? '')
    .filter((ip) => isIP(ip) !== 0);
  const fromInterfaces: string[] = [];
  for (const addresses of Object.values(sources.interfaces())) {
    for (const address of addresses ?? []) {
      if (address.internal || isLinkLocalV6(address)) continue;
      fromInterfaces.push(address.address);
    }
  }
  // IPv4 before IPv6: the first address is the default advertised one, and IPv4 is what most peers route.
  const interfaceIps = [...fromInterfaces.filter((ip) => isIP(ip) === 4), ...fromInterfaces.filter((ip) => isIP(ip) === 6)];
  return { hostname: sources.hostname(), ips: [...new Set([...fromPod, ...interfaceIps])] };
}

function isLinkLocalV6(address: NetworkInterfaceInfo): boolean {
  return address.family === 'IPv6' && /^fe[89ab]/i.test(address.address);
}

/**
 * The node name placement keys on, so it must survive restarts:
 * --node-name, else POD_NAME (a StatefulSet's stable name), else the hostname.
 */
export function resolveNodeName(configured: string | undefined, env: Record<string, string | undefined>, hostname: string): string {
  return configured || env['POD_NAME'] || hostname;
}

/**
 * The address other agents use for this agent's peer API: --advertise-address
 * when given, else the first discovered IP with the peer listen port. It is a
 * different setting from the listen address (0.0.0.0 is not reachable).
 */
export function resolveAdvertisedAddress(configured: HostPort | undefined, ips: string[], peerListen: HostPort): string {
  if (configured) return formatHostPort(configured);
  const listensOnOneAddress = peerListen.host !== '0.0.0.0' && peerListen.host !== '::';
  const host = listensOnOneAddress ? peerListen.host : (ips[0] ?? '127.0.0.1');
  return formatHostPort({ host, port: peerListen.port });
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
