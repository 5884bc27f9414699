import { logFormatSetting, logLevelSetting, maxBodySizeSetting } from '../shared/config/common-settings.ts';
import { hostPortSetting, secondsSetting, textSetting, urlListSetting } from '../shared/config/parsers.ts';
import type { ResolvedSettings } from '../shared/config/setting.ts';

/**
 * Every setting of `cflux manager`. Durations are given in seconds and
 * resolved to milliseconds.
 */
export const managerSettings = {
  /** Where the HTTP API listens. Default 0.0.0.0:8000 (the seed's port). */
  listen: hostPortSetting({
    name: 'listen',
    env: 'CFLUX_LISTEN',
    description: 'HTTP API listen address',
    defaultValue: { host: '0.0.0.0', port: 8000 },
  }),
  /** etcd v3 endpoints; none means the embedded in-memory store (one manager only). */
  etcdEndpoints: urlListSetting({
    name: 'etcd-endpoints',
    env: 'CLUSTERFLUX_ETCD_ENDPOINTS',
    description: 'etcd v3 endpoints, comma-separated; none = embedded in-memory store',
    allowEmpty: true,
    defaultValue: [],
  }),
  /** Key prefix in etcd, so several ClusterFlux installations can share one etcd. */
  etcdPrefix: textSetting({
    name: 'etcd-prefix',
    env: 'CFLUX_ETCD_PREFIX',
    description: 'key prefix in etcd',
    defaultValue: '/clusterflux/',
    maxLength: 200,
    pattern: /^\/[\x21-\x7e]*\/$/,
    accepts: 'expected a key prefix that starts and ends with "/" (printable ASCII, no spaces)',
  }),
  /** Node liveness: a node that does not heartbeat for this long is `alive: false`. */
  ttl: secondsSetting({ name: 'ttl', env: 'CLUSTERFLUX_ETCD_TTL', description: 'node liveness TTL', defaultSeconds: 15, min: 2, max: 3600 }),
  /** Longest a metadata long-poll waits before answering 204. */
  pollTimeout: secondsSetting({
    name: 'poll-timeout',
    env: 'CFLUX_POLL_TIMEOUT',
    description: 'longest metadata long-poll wait',
    defaultSeconds: 300,
    min: 1,
    max: 3600,
  }),
  /** A dead node's record is removed this long after its last heartbeat. */
  pruneAfter: secondsSetting({
    name: 'prune-after',
    env: 'CFLUX_PRUNE_AFTER',
    description: 'remove records of nodes dead for this long',
    defaultSeconds: 86_400,
    min: 10,
    max: 31_536_000,
  }),
  /** Largest request body accepted; larger ones get 413. */
  maxBodySize: maxBodySizeSetting('largest request body in bytes', 4 * 1024 * 1024),
  /** How long SIGTERM waits for open requests before closing connections. */
  shutdownTimeout: secondsSetting({
    name: 'shutdown-timeout',
    env: 'CFLUX_SHUTDOWN_TIMEOUT',
    description: 'graceful shutdown limit',
    defaultSeconds: 10,
    min: 1,
    max: 600,
  }),
  logLevel: logLevelSetting,
  logFormat: logFormatSetting,
};

/** `cflux manager`'s settings, resolved and validated (durations in ms). */
export type ManagerOptions = ResolvedSettings<typeof managerSettings>;
