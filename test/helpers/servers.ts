/**
 * Helpers that start REAL servers (InfluxDB 1.x `influxd` and etcd 3.x) on
 * loopback for integration tests and benchmarks:
 *
 * - `startInfluxd` and `freePort` come from src/local/ (`cflux demo` uses
 *   them too); `startEtcd` and `startEtcdCluster` from ./etcd-server.ts.
 * - Every daemon runs as a plain child process (no Docker, no systemd) with
 *   all its state, its generated config and its log file in one directory.
 * - Every daemon still running when this process exits, or is ended by
 *   SIGINT, SIGTERM or SIGHUP, is SIGKILLed, and the temporary directories
 *   the helpers created are removed (set `CFLUX_KEEP_TEST_DIRS=1` to keep
 *   them for a post-mortem), so a failing test never leaves daemons behind.
 * - The binaries must be on PATH: run `bash scripts/ensure-servers.sh`.
 */
import { killDaemonsOnExit } from '../../src/local/daemon-process.ts';

export { freePort } from '../../src/local/daemon-process.ts';
export { startInfluxd } from '../../src/local/influxd-process.ts';
export type { InfluxdOptions, InfluxdServer, InfluxdTls } from '../../src/local/influxd-process.ts';
export { startEtcd, startEtcdCluster } from './etcd-server.ts';
export type { EtcdCluster, EtcdOptions, EtcdServer } from './etcd-server.ts';

// Tests (unlike a long-running program) want their daemons gone on Ctrl-C too.
killDaemonsOnExit({ signals: true });
