import { Command } from 'commander';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { clusterSetting, logFormatSetting, logLevelSetting } from '../shared/config/common-settings.ts';
import { integerSetting } from '../shared/config/parsers.ts';
import { messageOf } from '../shared/errors.ts';
import { createLogger } from '../shared/logging.ts';
import { resolveOrExit, stopOnSignals, startFailureText } from './command-runner.ts';
import { formatAge } from '../shared/text-format.ts';
import { formatTable } from './nodes-command.ts';

const demoSettings = {
  nodes: integerSetting({ name: 'nodes', env: 'CFLUX_DEMO_NODES', description: 'influxd + agent pairs', defaultValue: 3, min: 1, max: 9 }),
  managerPort: integerSetting({ name: 'manager-port', env: 'CFLUX_DEMO_MANAGER_PORT', description: 'manager port on 127.0.0.1', defaultValue: 8000, min: 0, max: 65535 }),
  cluster: clusterSetting,
  logLevel: { ...logLevelSetting, defaultValue: 'warn' as const },
  logFormat: { ...logFormatSetting, defaultValue: 'pretty' as const },
};

/** `cflux demo`: a whole local cluster (in-memory manager, N influxd, N agents) until Ctrl-C. */
export function demoCommand(): Command {
  const command = new Command('demo').description('run a local cluster on the embedded default: in-memory manager, 3 influxd, 3 agents (Ctrl-C stops it)');
  addSettingOptions(command, demoSettings);
  command.action(async (flags: Record<string, unknown>) => {
    const options = resolveOrExit('demo', demoSettings, flags);
    const logger = createLogger({ level: options.logLevel, format: options.logFormat });
    const { LocalCluster } = await import('../local/local-cluster.ts');
    const cluster = new LocalCluster({ size: options.nodes, managerPort: options.managerPort, cluster: options.cluster, heartbeatIntervalMs: 2000, logger });
    stopOnSignals(cluster, (message) => process.stdout.write(`${message}\n`));
    try {
      process.stdout.write(`starting a local cluster: in-memory manager, ${options.nodes} influxd, ${options.nodes} agents...\n`);
      await cluster.start();
    } catch (err) {
      process.stderr.write(`cflux demo: ${startFailureText(err, [{ port: options.managerPort, flag: '--manager-port' }])}\n`);
      await cluster.stop().catch(() => undefined);
      process.exit(1);
    }
    const manager = cluster.manager!;
    const nodes = (await (await fetch(`${manager.url}/nodes/${encodeURIComponent(options.cluster)}`, { headers: { authorization: `Bearer ${cluster.managerToken}` } })).json()) as Array<Record<string, any>>;
    process.stdout.write(
      `\nmanager: ${manager.url}  (memory store; its token is in ${cluster.managerTokenFile})\n\n` +
        `$ export CFLUX_MANAGER_TOKEN_FILE=${cluster.managerTokenFile}\n$ cflux nodes --manager ${manager.url} --cluster ${options.cluster}\n`,
    );
    process.stdout.write(
      formatTable(
        ['ID', 'NAME', 'HOSTNAME', 'IP', 'BIND ADDRESS', 'ALIVE', 'LAST HEARTBEAT'],
        nodes.map((n) => [String(n['id']), n['name'], n['hostname'], (n['ip'] as string[]).join(','), n['bind-address'], n['alive'] ? 'yes' : 'no', formatAge(n['last-heartbeat'])]),
      ),
    );
    process.stdout.write('\ninfluxd servers:\n');
    cluster.influxds.forEach((influxd, i) =>
      process.stdout.write(`  influx-${i}  ${influxd.url}  proxy http://${cluster.agents[i]!.proxyAddress}  (agent ${cluster.agents[i]!.peerAddress}: /readyz /metrics)\n`),
    );
    const proxy = cluster.agents[0]!.proxyAddress!;
    process.stdout.write(
      `\nTry: influx -host ${proxy.split(':')[0]} -port ${proxy.split(':')[1]} -execute 'CREATE DATABASE demo'   (every influxd gets it)\n` +
        `     export CFLUX_MANAGER_TOKEN_FILE=${cluster.managerTokenFile}\n` +
        `     npx cflux meta get --manager ${manager.url}    npx cflux nodes --manager ${manager.url}    npx cflux hh status --manager ${manager.url}\n` +
        `     export CFLUX_PEER_TOKEN_FILE=${cluster.peerTokenFile}\n` +
        `     npx cflux repair --agent http://${cluster.agents[0]!.peerAddress} --dry-run\n` +
        `     npx cflux members remove influx-${cluster.agents.length - 1} --manager ${manager.url} --dry-run   (its data moves to the others; add it back the same way)\nCtrl-C stops everything.\n`,
    );
  });
  return command;
}
