import { agentTokenFileSetting, logFormatSetting, logLevelSetting, managerTokenFileSetting, maxBodySizeSetting } from '../shared/config/common-settings.ts';
import { hostPortSetting, integerSetting, optionalTextSetting, secondsSetting, switchSetting, textSetting, urlListSetting } from '../shared/config/parsers.ts';
import type { ResolvedSettings } from '../shared/config/setting.ts';
import { DEFAULT_POLL_ANSWER_RATE } from './long-poll/metadata-watch-hub.ts';

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
  /**
   * How many waiting long-polls a new metadata version answers per second
   * (the first slice at once): each brings its agent's next poll straight
   * back, and answered all together they held every heartbeat behind them.
   */
  pollAnswerRate: integerSetting({
    name: 'poll-answer-rate',
    env: 'CFLUX_POLL_ANSWER_RATE',
    description: 'metadata long-polls answered per second when a new version arrives (one tenth of it at once, then that many every 100 ms)',
    defaultValue: DEFAULT_POLL_ANSWER_RATE,
    min: 1,
    max: 1_000_000,
    unit: 'answers/s',
  }),
  /**
   * Memory store only: once the agents show a restarted manager the cluster
   * document it lost, changes wait this long while their restores come in
   * (api/restore-window.ts). 0 turns it off.
   */
  restoreWindow: secondsSetting({
    name: 'restore-window',
    env: 'CFLUX_RESTORE_WINDOW',
    description: 'memory store: after the agents start restoring a lost cluster document, metadata changes wait this long (0 = off)',
    defaultSeconds: 15,
    min: 1,
    max: 300,
    orOff: true,
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
  /** The operator token (else CFLUX_MANAGER_TOKEN): every right. Required unless --insecure. */
  managerTokenFile: managerTokenFileSetting,
  /** An optional second token (else CFLUX_AGENT_TOKEN) with agent rights only. */
  agentTokenFile: agentTokenFileSetting,
  /** Serve without any token: everyone may do everything (trusted networks and tests only). */
  insecure: switchSetting({ name: 'insecure', env: 'CFLUX_INSECURE', description: 'run without a token: anyone who reaches the API may do anything' }),
  /** Serve HTTPS with this certificate (chain). */
  tlsCertFile: optionalTextSetting({ name: 'tls-cert-file', env: 'CFLUX_TLS_CERT_FILE', description: 'PEM certificate (chain): serve the API over HTTPS', maxLength: 4096, defaultLabel: 'none: plain HTTP' }),
  /** The private key of --tls-cert-file. */
  tlsKeyFile: optionalTextSetting({ name: 'tls-key-file', env: 'CFLUX_TLS_KEY_FILE', description: 'PEM private key of --tls-cert-file', maxLength: 4096, defaultLabel: 'none' }),
  /** CAs trusted for https etcd endpoints. */
  etcdCaFile: optionalTextSetting({ name: 'etcd-ca-file', env: 'CFLUX_ETCD_CA_FILE', description: 'PEM CA bundle trusted for https etcd endpoints', maxLength: 4096, defaultLabel: "Node's default CAs" }),
  /** Client certificate for etcd's --client-cert-auth. */
  etcdCertFile: optionalTextSetting({ name: 'etcd-cert-file', env: 'CFLUX_ETCD_CERT_FILE', description: 'PEM client certificate for etcd', maxLength: 4096, defaultLabel: 'none' }),
  /** The private key of --etcd-cert-file. */
  etcdKeyFile: optionalTextSetting({ name: 'etcd-key-file', env: 'CFLUX_ETCD_KEY_FILE', description: 'PEM private key of --etcd-cert-file', maxLength: 4096, defaultLabel: 'none' }),
  logLevel: logLevelSetting,
  logFormat: logFormatSetting,
};

/** `cflux manager`'s settings, resolved and validated (durations in ms). */
export type ManagerOptions = ResolvedSettings<typeof managerSettings>;
