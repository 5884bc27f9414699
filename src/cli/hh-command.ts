import { Argument, Command } from 'commander';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { clientSettings, clusterPath, oneOffClient, unexpectedAnswer } from './client-settings.ts';
import { resolveOrExit } from './command-runner.ts';
import { formatBytes } from '../shared/text-format.ts';
import { formatTable } from './nodes-command.ts';

interface QueueStatus {
  target: string;
  records: number;
  bytes: number;
  oldestAgeMs?: number;
  replayedPoints?: number;
  droppedRecords?: number;
}

/** `cflux hh status`: every node's hinted-handoff queues, as the nodes report them in their heartbeats. */
export function hhCommand(): Command {
  const command = new Command('hh').description("show the hinted-handoff queues: writes each node keeps for replicas that missed them").addArgument(new Argument('<action>', 'what to show').choices(['status']));
  addSettingOptions(command, clientSettings);
  command.action(async (_action: 'status', flags: Record<string, unknown>) => {
    const options = resolveOrExit('hh', clientSettings, flags);
    try {
      const reply = await oneOffClient('hh', options).request<Array<{ name: string; alive: boolean; stats?: { hintedHandoff?: { queues?: QueueStatus[] } } }>>('GET', `/nodes/${clusterPath(options.cluster)}`);
      if (reply.status !== 200) throw unexpectedAnswer(reply);
      const rows = reply.body.flatMap((node) => (node.stats?.hintedHandoff?.queues ?? []).map((queue) => ({ node: node.name, alive: node.alive, ...queue })));
      if (options.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      const shown = rows.map((row) => [
        row.node + (row.alive ? '' : ' (dead)'),
        row.target,
        String(row.records),
        formatBytes(row.bytes),
        row.oldestAgeMs === undefined ? '-' : `${Math.round(row.oldestAgeMs / 1000)}s`,
        String(row.replayedPoints ?? 0),
        String(row.droppedRecords ?? 0),
      ]);
      process.stdout.write(formatTable(['NODE', 'QUEUED FOR', 'BATCHES', 'BYTES', 'OLDEST', 'REPLAYED POINTS', 'DROPPED BATCHES'], shown));
      if (rows.every((row) => row.records === 0)) process.stderr.write('every queue is empty: all replicas have what was written\n');
    } catch (err) {
      process.stderr.write(`cflux hh: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}
