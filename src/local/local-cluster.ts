import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './exit-cleanup.ts';
import type { Logger } from '../shared/logging.ts';
import { SecretBox } from '../cluster/secret-box.ts';
import { resolveSettings } from '../shared/config/setting.ts';
import { Agent } from '../agent/agent.ts';
import { agentSettings } from '../agent/agent-settings.ts';
import { Manager } from '../manager/manager.ts';
import { managerSettings } from '../manager/manager-settings.ts';
import { startInfluxd, type InfluxdServer } from './influxd-process.ts';

export interface LocalClusterOptions {
  /** How many influxd + agent pairs. */
  size: number;
  /** Manager port on 127.0.0.1 (0 = any free port). */
  managerPort: number;
  cluster: string;
  /** Heartbeat period in ms. */
  heartbeatIntervalMs: number;
  logger: Logger;
}

/**
 * A whole cluster on this machine, for the demo and for trying things out: an
 * in-memory manager, `size` real influxd processes (temp dirs) and one agent
 * beside each, all on loopback ports.
 */
export class LocalCluster {
  readonly options: LocalClusterOptions;
  manager: Manager | undefined;
  readonly influxds: InfluxdServer[] = [];
  readonly agents: Agent[] = [];
  #stopping: Promise<void> | undefined;
  #dir: string | undefined;
  /** One random cluster secret for the demo's agents, so user statements work. */
  readonly #secrets = new SecretBox(randomBytes(24).toString('base64'));
  /** And one random peer token. */
  readonly #peerToken = randomBytes(24).toString('base64url');
  /** The manager token: the demo's manager, agents and the user's `cflux` commands share it. */
  readonly managerToken = randomBytes(24).toString('base64url');
  /** Where the demo keeps the manager token for `cflux` commands (CFLUX_MANAGER_TOKEN_FILE); removed on exit. */
  managerTokenFile: string | undefined;
  /** And the peer token, for `cflux repair` (CFLUX_PEER_TOKEN_FILE). */
  peerTokenFile: string | undefined;

  constructor(options: LocalClusterOptions) {
    this.options = options;
  }

  /** Starts everything and resolves once every agent is registered and ready. */
  async start(timeoutMs = 30_000): Promise<void> {
    const { logger } = this.options;
    const managerOptions = resolveSettings(managerSettings, { flags: { listen: `127.0.0.1:${this.options.managerPort}` }, env: {}, file: {} });
    this.#dir = await makeTempDir('cflux-demo-');
    this.managerTokenFile = join(this.#dir, 'manager-token');
    await writeFile(this.managerTokenFile, this.managerToken + '\n', { mode: 0o600 });
    this.peerTokenFile = join(this.#dir, 'peer-token');
    await writeFile(this.peerTokenFile, this.#peerToken + '\n', { mode: 0o600 });
    this.manager = new Manager(managerOptions, logger, { operatorToken: this.managerToken });
    await this.manager.start();
    this.influxds.push(...(await Promise.all(Array.from({ length: this.options.size }, () => startInfluxd()))));
    for (const [index, influxd] of this.influxds.entries()) {
      const flags = {
        manager: this.manager.url,
        cluster: this.options.cluster,
        nodeName: `influx-${index}`,
        influxdUrl: influxd.url,
        listen: '127.0.0.1:0',
        peerListen: '127.0.0.1:0',
        heartbeatInterval: String(this.options.heartbeatIntervalMs / 1000),
        // Agent state next to its influxd's data, so it goes away with the demo's temp dirs.
        dataDir: join(influxd.dir, 'agent'),
        driftInterval: '2',
      };
      const secrets = { clusterSecret: this.#secrets, peerToken: this.#peerToken, managerToken: this.managerToken };
      const agent = new Agent(resolveSettings(agentSettings, { flags, env: {}, file: {} }), logger.child({ node: `influx-${index}` }), secrets, {});
      this.agents.push(agent);
      await agent.start();
    }
    const deadline = Date.now() + timeoutMs;
    while (!this.agents.every((agent) => agent.readiness().ready)) {
      if (Date.now() > deadline) throw new Error(`local cluster not ready after ${timeoutMs} ms: ${JSON.stringify(this.agents.map((a) => a.readiness().reasons))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops agents (they deregister), influxd processes (temp dirs removed) and the manager. Safe twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all(this.agents.map((agent) => agent.stop()));
      await Promise.all(this.influxds.map((influxd) => influxd.destroy()));
      await this.manager?.stop();
      if (this.#dir) await removeTempDir(this.#dir);
    })();
    return this.#stopping;
  }
}
