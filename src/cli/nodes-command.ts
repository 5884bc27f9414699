import { Argument, Command } from 'commander';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { clientSettings, clusterPath, oneOffClient, unexpectedAnswer } from './client-settings.ts';
import { resolveOrExit } from './command-runner.ts';
import { formatAge } from '../shared/text-format.ts';

interface NodeJson {
  id: number;
  name: string;
  hostname: string;
  ip: string[];
  'bind-address': string;
  'proxy-address'?: string;
  version?: string;
  alive: boolean;
  'last-heartbeat': string;
  stats?: { ready?: unknown; cfluxVersion?: unknown };
}

/** Formats rows as a left-aligned text table. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

type Action = 'list' | 'remove' | 'prune';

/**
 * `cflux nodes [list]`: the nodes of a cluster as a table (or JSON);
 * `cflux nodes remove ID`: drops a node's record (a node gone for good);
 * `cflux nodes prune`: drops every record that is not alive.
 */
export function nodesCommand(): Command {
  const command = new Command('nodes')
    .description("a cluster's nodes (id, name, addresses, agent version, alive, ready, last heartbeat); remove ID drops a record, prune drops every dead one")
    .addArgument(new Argument('[action]', 'what to do').choices(['list', 'remove', 'prune']).default('list'))
    .addArgument(new Argument('[id]', 'remove: the node id (cflux nodes lists them)'));
  addSettingOptions(command, clientSettings);
  command.action(async (action: Action, id: string | undefined, flags: Record<string, unknown>) => {
    const options = resolveOrExit('nodes', clientSettings, flags);
    if (action === 'remove' && (id === undefined || !/^\d+$/.test(id))) {
      process.stderr.write('cflux nodes: remove needs a node id (cflux nodes lists them)\n');
      process.exitCode = 2;
      return;
    }
    const client = oneOffClient('nodes', options);
    try {
      const reply = await client.request<NodeJson[]>('GET', `/nodes/${clusterPath(options.cluster)}`);
      if (reply.status !== 200) throw unexpectedAnswer(reply);
      if (action === 'list') {
        if (options.json) return void process.stdout.write(JSON.stringify(reply.body, null, 2) + '\n');
        if (reply.body.length === 0) throw new Error(`no nodes registered in cluster "${options.cluster}"`);
        const rows = reply.body.map((node) => [String(node.id), node.name, node.hostname, node.ip.join(','), node['bind-address'], node['proxy-address'] || '-', agentVersion(node), node.alive ? 'yes' : 'no', readyText(node), formatAge(node['last-heartbeat'])]);
        return void process.stdout.write(formatTable(['ID', 'NAME', 'HOSTNAME', 'IP', 'BIND ADDRESS', 'PROXY ADDRESS', 'AGENT', 'ALIVE', 'READY', 'LAST HEARTBEAT'], rows));
      }
      const doomed = action === 'remove' ? reply.body.filter((node) => String(node.id) === id) : reply.body.filter((node) => !node.alive);
      if (action === 'remove' && doomed.length === 0) throw new Error(`node ${id} is not registered in cluster "${options.cluster}" (cflux nodes lists them)`);
      for (const node of doomed) {
        const removed = await client.request('DELETE', `/nodes/${clusterPath(options.cluster)}/${node.id}`);
        if (removed.status !== 204) throw unexpectedAnswer(removed);
        process.stdout.write(`removed node ${node.id} (${node.name}${node.alive ? ', alive: its agent registers again on its next heartbeat' : ''})\n`);
      }
      if (action === 'prune' && doomed.length === 0) process.stdout.write('no dead node records\n');
    } catch (err) {
      process.stderr.write(`cflux nodes: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}

/** The agent's own version (its heartbeat says it; the registration's `version` is its influxd's). */
function agentVersion(node: NodeJson): string {
  const version = node.stats?.cfluxVersion;
  return typeof version === 'string' ? version : '-';
}

function readyText(node: NodeJson): string {
  if (!node.alive) return '-';
  const ready = node.stats?.ready;
  return ready === true ? 'yes' : ready === false ? 'no' : '?';
}
