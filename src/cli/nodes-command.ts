import { Command } from 'commander';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { clientSettings, clusterPath, oneOffClient, unexpectedAnswer } from './client-settings.ts';
import { resolveOrExit } from './command-runner.ts';

interface NodeJson {
  id: number;
  name: string;
  hostname: string;
  ip: string[];
  'bind-address': string;
  alive: boolean;
  'last-heartbeat': string;
}

/** Formats rows as a left-aligned text table. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** "3s ago" style age of an ISO time. */
export function formatAge(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

/** `cflux nodes`: the nodes of a cluster as a table (or JSON). */
export function nodesCommand(): Command {
  const command = new Command('nodes').description("list a cluster's nodes: id, name, hostname, IPs, bind address, alive, last heartbeat");
  addSettingOptions(command, clientSettings);
  command.action(async (flags: Record<string, unknown>) => {
    const options = resolveOrExit('nodes', clientSettings, flags);
    try {
      const reply = await oneOffClient('nodes', options).request<NodeJson[]>('GET', `/nodes/${clusterPath(options.cluster)}`);
      if (reply.status !== 200) throw unexpectedAnswer(reply);
      if (options.json) {
        process.stdout.write(JSON.stringify(reply.body, null, 2) + '\n');
        return;
      }
      const rows = reply.body.map((node) => [String(node.id), node.name, node.hostname, node.ip.join(','), node['bind-address'], node.alive ? 'yes' : 'no', formatAge(node['last-heartbeat'])]);
      process.stdout.write(formatTable(['ID', 'NAME', 'HOSTNAME', 'IP', 'BIND ADDRESS', 'ALIVE', 'LAST HEARTBEAT'], rows));
      if (rows.length === 0) process.stderr.write(`no nodes registered in cluster "${options.cluster}"\n`);
    } catch (err) {
      process.stderr.write(`cflux nodes: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}
