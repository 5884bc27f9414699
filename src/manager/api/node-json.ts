import { CfluxError } from '../../shared/errors.ts';
import type { NodeRegistration, NodeView } from '../store/store.ts';

/** A node as the API shows it (the seed's kebab-case field names). */
export function nodeToJson(node: NodeView): Record<string, unknown> {
  return {
    id: node.id,
    cluster: node.cluster,
    name: node.name,
    hostname: node.hostname,
    ip: node.ip,
    'bind-address': node.bindAddress,
    'proxy-address': node.proxyAddress,
    version: node.version,
    stats: node.stats,
    alive: node.alive,
    ttl: node.ttlMs / 1000,
    'registered-at': node.registeredAt,
    'last-heartbeat': node.lastHeartbeat,
  };
}

function fail(message: string): never {
  throw new CfluxError('BAD_REQUEST', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(body: Record<string, unknown>, field: string, required: boolean, maxLength = 255): string {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) fail(`field "${field}" is required`);
    return '';
  }
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length > maxLength || /[\u0000-\u001f\u007f]/.test(value)) {
    fail(`field "${field}" must be a string of at most ${maxLength} characters without control characters`);
  }
  if (required && value.trim() === '') fail(`field "${field}" must not be empty`);
  return value;
}

/** Validates a registration body `{name, hostname, ip, bind-address, proxy-address, version, stats}`. */
export function parseRegistration(body: unknown): NodeRegistration {
  if (!isObject(body)) fail('the body must be a JSON object with at least "name" and "bind-address"');
  const ip = body['ip'] ?? [];
  if (!Array.isArray(ip) || ip.length > 64 || !ip.every((item) => typeof item === 'string' && item.length <= 64)) {
    fail('field "ip" must be an array of at most 64 address strings');
  }
  return {
    name: text(body, 'name', true),
    hostname: text(body, 'hostname', false),
    ip: ip as string[],
    bindAddress: text(body, 'bind-address', true),
    proxyAddress: text(body, 'proxy-address', false),
    version: text(body, 'version', false, 100),
    stats: parseStats(body['stats']) ?? {},
  };
}

/** What a heartbeat may carry: the node's name (checked against the id's record) and its load stats. */
export interface Heartbeat {
  name?: string;
  stats?: Record<string, unknown>;
}

/** Validates the optional heartbeat body `{name, stats}`. */
export function parseHeartbeat(body: unknown): Heartbeat {
  if (body === undefined) return {};
  if (!isObject(body)) fail('the heartbeat body must be a JSON object like {"name": "node-1", "stats": {...}}');
  const name = body['name'] === undefined ? undefined : text(body, 'name', true);
  const stats = parseStats(body['stats']);
  return { ...(name !== undefined ? { name } : {}), ...(stats ? { stats } : {}) };
}

function parseStats(stats: unknown): Record<string, unknown> | undefined {
  if (stats === undefined || stats === null) return undefined;
  if (!isObject(stats)) fail('field "stats" must be a JSON object');
  return stats;
}

/** Parses a node id path segment: a positive integer. */
export function parseNodeId(segment: string): number {
  const id = /^\d{1,15}$/.test(segment) ? Number(segment) : NaN;
  if (!(id > 0)) fail(`node id "${segment}" must be a positive integer`);
  return id;
}
