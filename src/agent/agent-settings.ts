import { agentTokenFileSetting, caFileSetting, clusterSetting, logFormatSetting, logLevelSetting, managerEndpointsSetting, managerTokenFileSetting, maxBodySizeSetting } from '../shared/config/common-settings.ts';
import { choiceSetting, hostPortSetting, integerSetting, optionalTextSetting, secondsSetting, switchSetting, textSetting, urlSetting, type HostPort } from '../shared/config/parsers.ts';
import type { ResolvedSettings, Setting } from '../shared/config/setting.ts';

/** An optional host:port (no default). */
function optionalHostPort(base: { name: string; env: string; description: string }): Setting<HostPort | undefined> {
  const inner = hostPortSetting({ ...base, defaultValue: { host: '', port: 0 } });
  return { ...inner, defaultValue: undefined, defaultLabel: '(first IP):(peer port)', parse: (raw) => inner.parse(raw) };
}

/** Every setting of `cflux agent`. Durations are seconds outside, ms once resolved. */
export const agentSettings = {
  /** Manager URLs (CFLUX_ENDPOINT); the next is tried when one fails. */
  manager: managerEndpointsSetting,
  /** Cluster to join. */
  cluster: clusterSetting,
  /** Stable node name: placement keys on it. Default POD_NAME, else the hostname. */
  nodeName: optionalTextSetting({ name: 'node-name', env: 'CFLUX_NODE_NAME', description: 'stable node name', maxLength: 253, defaultLabel: '$POD_NAME, else the hostname' }),
  /** The local influxd's HTTP API. */
  influxdUrl: urlSetting({ name: 'influxd-url', env: 'CFLUX_INFLUXD_URL', description: 'local influxd HTTP API', defaultValue: 'http://127.0.0.1:8086' }),
  /** PEM file of CA certificates trusted for an https influxd, besides Node's defaults. */
  influxdCa: optionalTextSetting({ name: 'influxd-ca', env: 'CFLUX_INFLUXD_CA', description: 'PEM file of CAs trusted for an https --influxd-url', maxLength: 4096, defaultLabel: 'system CAs and NODE_EXTRA_CA_CERTS' }),
  /** File holding influxd credentials as `username:password` (else INFLUX_USERNAME / INFLUX_PASSWORD). */
  influxdCredentialsFile: optionalTextSetting({
    name: 'influxd-credentials-file',
    env: 'CFLUX_INFLUXD_CREDENTIALS_FILE',
    description: 'file with "username:password" for influxd',
    maxLength: 4096,
    defaultLabel: 'INFLUX_USERNAME / INFLUX_PASSWORD',
  }),
  /** Client-facing InfluxDB-compatible proxy. */
  listen: hostPortSetting({ name: 'listen', env: 'CFLUX_LISTEN', description: 'InfluxDB-compatible proxy listen address', defaultValue: { host: '0.0.0.0', port: 8087 } }),
  /** Agent-to-agent API, also /healthz, /readyz, /metrics. */
  peerListen: hostPortSetting({ name: 'peer-listen', env: 'CFLUX_PEER_LISTEN', description: 'peer API listen address', defaultValue: { host: '0.0.0.0', port: 8888 } }),
  /** What other agents dial; a separate setting from the listen address. */
  advertiseAddress: optionalHostPort({ name: 'advertise-address', env: 'CFLUX_ADVERTISE_ADDRESS', description: 'peer address other agents use' }),
  /** Heartbeat period; kept below the manager's TTL / 2 (lowered with a warning otherwise). */
  heartbeatInterval: secondsSetting({ name: 'heartbeat-interval', env: 'CFLUX_HEARTBEAT_INTERVAL', description: 'heartbeat period', defaultSeconds: 5, min: 0.1, max: 600 }),
  /** Deadline of one manager call. */
  managerTimeout: secondsSetting({ name: 'manager-timeout', env: 'CFLUX_MANAGER_TIMEOUT', description: 'deadline of one manager call', defaultSeconds: 5, min: 0.1, max: 120 }),
  /** Longest wait for deregistration on shutdown. */
  shutdownTimeout: secondsSetting({ name: 'shutdown-timeout', env: 'CFLUX_SHUTDOWN_TIMEOUT', description: 'longest graceful shutdown', defaultSeconds: 10, min: 0.1, max: 600 }),
  /** Agent state (the last applied metadata). */
  dataDir: textSetting({ name: 'data-dir', env: 'CFLUX_DATA_DIR', description: 'agent state directory', defaultValue: './cflux-data', maxLength: 4096 }),
  /** Default replication factor of databases created through the proxy. */
  replicationFactor: integerSetting({ name: 'replication-factor', env: 'CFLUX_REPLICATION_FACTOR', description: 'default replication factor', defaultValue: 2, min: 1, max: 16 }),
  /** DDL made directly on influxd: pushed to the cluster, or undone. */
  localChanges: choiceSetting({
    name: 'local-changes',
    env: 'CFLUX_LOCAL_CHANGES',
    description: 'DDL made directly on influxd: push it to the cluster, or revert it',
    choices: ['push', 'revert'] as const,
    defaultValue: 'push',
  }),
  /** How often influxd is compared with the last applied metadata. */
  driftInterval: secondsSetting({ name: 'drift-interval', env: 'CFLUX_DRIFT_INTERVAL', description: 'period of the local drift check', defaultSeconds: 10, min: 0.1, max: 86_400 }),
  /** File holding the cluster secret (else CFLUX_SECRET); encrypts user passwords in the metadata. */
  secretFile: optionalTextSetting({ name: 'secret-file', env: 'CFLUX_SECRET_FILE', description: 'file holding the cluster secret', maxLength: 4096, defaultLabel: 'CFLUX_SECRET' }),
  /** File holding the cluster's peer token (else CFLUX_PEER_TOKEN); agents present it to each other. */
  peerTokenFile: optionalTextSetting({ name: 'peer-token-file', env: 'CFLUX_PEER_TOKEN_FILE', description: 'file holding the peer API token', maxLength: 4096, defaultLabel: 'CFLUX_PEER_TOKEN' }),
  /** Run the peer API without a token (trusted networks and tests only). */
  insecurePeer: switchSetting({ name: 'insecure-peer', env: 'CFLUX_INSECURE_PEER', description: 'allow running the peer API without a token' }),
  /** The manager token (else CFLUX_MANAGER_TOKEN); an agent token, when given, is sent instead. */
  managerTokenFile: managerTokenFileSetting,
  /** The agent token (else CFLUX_AGENT_TOKEN): agent rights only, preferred over the manager token. */
  agentTokenFile: agentTokenFileSetting,
  /** Call a manager started with --insecure, without a token. */
  insecureManager: switchSetting({ name: 'insecure-manager', env: 'CFLUX_INSECURE_MANAGER', description: 'call the manager without a token (a manager started with --insecure)' }),
  /** CAs trusted for https managers and peers. */
  caFile: caFileSetting,
  /** Serve the peer port over HTTPS with this certificate, and dial peers over HTTPS. */
  peerTlsCertFile: optionalTextSetting({ name: 'peer-tls-cert-file', env: 'CFLUX_PEER_TLS_CERT_FILE', description: 'PEM certificate (chain) of the peer port: HTTPS between agents', maxLength: 4096, defaultLabel: 'none: plain HTTP' }),
  /** The private key of --peer-tls-cert-file. */
  peerTlsKeyFile: optionalTextSetting({ name: 'peer-tls-key-file', env: 'CFLUX_PEER_TLS_KEY_FILE', description: 'PEM private key of --peer-tls-cert-file', maxLength: 4096, defaultLabel: 'none' }),
  /** The name peer certificates are checked against (one shared peer certificate); else each peer's address. */
  peerServerName: optionalTextSetting({ name: 'peer-server-name', env: 'CFLUX_PEER_SERVER_NAME', description: 'name that peer certificates must carry', maxLength: 253, defaultLabel: "each peer's host" }),
  /** Largest request body the proxy accepts. */
  maxBodySize: maxBodySizeSetting('largest proxy request body in bytes', 25 * 1000 * 1000),
  /** Bodies the proxy holds at once (read whole before a write goes to its owners); a request past it waits, unread. */
  maxBufferedBodies: integerSetting({
    name: 'max-buffered-bodies',
    env: 'CFLUX_MAX_BUFFERED_BODIES',
    description: 'request body bytes the proxy holds at once across connections; more wait unread',
    defaultValue: 64 * 1024 * 1024,
    min: 1024 * 1024,
    max: 2 ** 40,
    unit: 'bytes',
  }),
  /** Bound of one target's hinted-handoff queue on disk; beyond it the oldest hints are dropped (repair restores them). */
  hhMaxSize: integerSetting({ name: 'hh-max-size', env: 'CFLUX_HH_MAX_SIZE', description: 'hinted-handoff queue bound per target node, bytes', defaultValue: 10 * 1024 * 1024 * 1024, min: 1024 * 1024, max: 2 ** 50, unit: 'bytes' }),
  /** Hints older than this are dropped on replay. */
  hhMaxAge: secondsSetting({ name: 'hh-max-age', env: 'CFLUX_HH_MAX_AGE', description: 'hinted-handoff hints older than this are dropped', defaultSeconds: 168 * 3600, min: 60, max: 365 * 86_400 }),
  /** Background anti-entropy: each unit compared by its first owner this often; 0 turns it off. */
  repairInterval: secondsSetting({ name: 'repair-interval', env: 'CFLUX_REPAIR_INTERVAL', description: 'period of the background repair pass (0: off)', defaultSeconds: 3600, min: 0, max: 30 * 86_400 }),
  /** Replay rate per target, so live traffic stays fast. */
  hhReplayRate: integerSetting({ name: 'hh-replay-rate', env: 'CFLUX_HH_REPLAY_RATE', description: 'hinted-handoff replay rate per target node, bytes of line protocol per second', defaultValue: 64 * 1024 * 1024, min: 64 * 1024, max: 2 ** 40, unit: 'bytes per second' }),
  /** How fast this agent copies units during a move of the data members (docs/moves.md). */
  moveRate: integerSetting({ name: 'move-rate', env: 'CFLUX_MOVE_RATE', description: 'copy rate of a move of the data members, bytes of line protocol per second per agent', defaultValue: 32 * 1024 * 1024, min: 64 * 1024, max: 2 ** 40, unit: 'bytes per second' }),
  /** How often the agent's key figures go into the local influxd's `_internal` database (measurement `clusterflux`); 0 turns it off. */
  internalStatsInterval: secondsSetting({
    name: 'internal-stats-interval',
    env: 'CFLUX_INTERNAL_STATS_INTERVAL',
    description: "period of the agent's statistics written to the local influxd's _internal database (0: off)",
    defaultSeconds: 10,
    min: 1,
    max: 3600,
    orOff: true,
  }),
  /** Join the data members by itself even when the cluster holds data (a move copies its share to it). */
  autoJoin: switchSetting({ name: 'auto-join', env: 'CFLUX_AUTO_JOIN', description: 'join the data members by itself when the cluster already holds data (its share is moved to it)' }),
  /** Register, check influxd, print the registration, deregister, exit. */
  once: switchSetting({ name: 'once', env: 'CFLUX_ONCE', description: 'register once, print the registration as JSON, deregister and exit' }),
  logLevel: logLevelSetting,
  logFormat: logFormatSetting,
};

/** `cflux agent`'s settings, resolved (durations in ms). */
export type AgentOptions = ResolvedSettings<typeof agentSettings>;
