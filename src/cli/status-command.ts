import { Command } from 'commander';
import type { ClusterOverview } from '../cluster/cluster-overview.ts';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { formatBytes as bytes } from '../shared/text-format.ts';
import { clientSettings, clusterPath, oneOffClient, unexpectedAnswer } from './client-settings.ts';
import { resolveOrExit } from './command-runner.ts';
import { formatAge } from '../shared/text-format.ts';
import { formatTable } from './nodes-command.ts';

/**
 * `cflux status`: the cluster at a glance, like `influxd-ctl show` (the
 * manager's status page in the terminal): nodes with their readiness, data
 * and versions, the move in flight, hinted-handoff queues, recent problems.
 */
export function statusCommand(): Command {
  const command = new Command('status').description('the cluster at a glance: nodes (alive, ready, data member, versions, addresses, data held), moves, queues, recent problems');
  addSettingOptions(command, clientSettings);
  command.action(async (flags: Record<string, unknown>) => {
    const options = resolveOrExit('status', clientSettings, flags);
    try {
      const reply = await oneOffClient('status', options).request<ClusterOverview>('GET', `/clusters/${clusterPath(options.cluster)}/overview`);
      if (reply.status !== 200) throw unexpectedAnswer(reply);
      const overview = reply.body;
      if (options.json) return void process.stdout.write(JSON.stringify(overview, null, 2) + '\n');
      if (overview.nodes.length === 0 && overview.version === 0) throw new Error(`cluster "${options.cluster}" has no nodes and no metadata (is the name right? cflux nodes lists a cluster's nodes)`);
      process.stdout.write(describeOverview(overview));
    } catch (err) {
      process.stderr.write(`cflux status: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}

/** The overview as text: a summary line, the nodes table, then moves, queues and problems. */
export function describeOverview(overview: ClusterOverview, now = Date.now()): string {
  const alive = overview.nodes.filter((node) => node.alive).length;
  const lines = [
    `cluster ${overview.cluster}: ${alive} of ${overview.nodes.length} nodes alive; metadata version ${overview.version} (revision ${overview.revision}); ${overview.databases.length} databases, ${overview.users} users; replication factor ${overview.replicationFactor}; data members: ${overview.dataMembers.join(', ') || 'none yet'}`,
    '',
    formatTable(
      ['NODE', 'ID', 'ALIVE', 'READY', 'MEMBER', 'AGENT', 'INFLUXD', 'PROXY', 'PEER', 'UNITS', 'DISK', 'POINTS WRITTEN', 'META REV', 'LAST HEARTBEAT'],
      overview.nodes.map((node) => [
        node.name,
        String(node.id),
        node.alive ? 'yes' : 'no',
        !node.alive || node.ready === undefined ? '-' : node.ready ? 'yes' : 'no',
        node.dataMember ? 'yes' : 'no',
        node.agentVersion || '-',
        node.influxdVersion ?? '-',
        node.proxyAddress || '-',
        node.peerAddress,
        node.units === undefined ? '-' : String(node.units),
        node.diskBytes === undefined ? '-' : bytes(node.diskBytes),
        node.pointsWritten === undefined ? '-' : node.pointsWritten.toLocaleString('en-US'),
        node.metadataRevision === undefined ? '-' : String(node.metadataRevision),
        formatAge(node.lastHeartbeat, now),
      ]),
    ).trimEnd(),
    '',
  ];
  const move = overview.move;
  lines.push(move ? `move ${move.id} (${move.kind}) to ${move.target.join(', ')}: ${move.phase}, ${move.unitsDone}/${move.units} units, ${move.points.toLocaleString('en-US')} points copied` : 'no move in flight');
  if (overview.queues.length === 0) lines.push('hinted-handoff queues: all empty');
  else lines.push('hinted-handoff queues:', formatTable(['FROM', 'FOR', 'BATCHES', 'BYTES'], overview.queues.map((queue) => [queue.from, queue.to, String(queue.records), bytes(queue.bytes)])).trimEnd());
  const problems = overview.nodes.flatMap((node) => node.problems.map((problem) => `  ${node.name}: ${problem}`));
  lines.push(problems.length === 0 ? 'recent problems: none' : 'recent problems:', ...problems);
  return lines.join('\n') + '\n';
}
