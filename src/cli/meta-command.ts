import { Argument, Command } from 'commander';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { clientSettings, clusterPath, oneOffClient, unexpectedAnswer } from './client-settings.ts';
import { resolveOrExit } from './command-runner.ts';
import { formatAge } from '../shared/text-format.ts';
import { formatTable } from './nodes-command.ts';

interface HistoryEntry {
  version: number;
  metadata: unknown;
  writtenAt: string;
}

/** `cflux meta get|history`: the cluster's metadata document and its last versions. */
export function metaCommand(): Command {
  const command = new Command('meta')
    .description("show the cluster's metadata: the current document (get) or the last 10 versions (history)")
    .addArgument(new Argument('<action>', 'what to show').choices(['get', 'history']));
  addSettingOptions(command, clientSettings);
  command.action(async (action: 'get' | 'history', flags: Record<string, unknown>) => {
    const options = resolveOrExit('meta', clientSettings, flags);
    const client = oneOffClient('meta', options);
    const cluster = clusterPath(options.cluster);
    try {
      if (action === 'get') {
        const reply = await client.request('GET', `/clusters/${cluster}`);
        if (reply.status !== 200) throw unexpectedAnswer(reply);
        process.stdout.write(JSON.stringify(reply.body, null, 2) + '\n');
        return;
      }
      const reply = await client.request<HistoryEntry[]>('GET', `/clusters/${cluster}/history`);
      if (reply.status !== 200) throw unexpectedAnswer(reply);
      if (options.json) {
        process.stdout.write(JSON.stringify(reply.body, null, 2) + '\n');
        return;
      }
      const rows = reply.body.map((entry) => [String(entry.version), entry.writtenAt, formatAge(entry.writtenAt), String(JSON.stringify(entry.metadata).length)]);
      process.stdout.write(formatTable(['VERSION', 'WRITTEN AT', 'AGE', 'BYTES'], rows));
    } catch (err) {
      process.stderr.write(`cflux meta: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}
