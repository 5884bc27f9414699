import { Argument, Command } from 'commander';
import { applyOperation } from '../cluster/apply-operation.ts';
import { emptyMetadata, type ClusterMetadata } from '../cluster/cluster-metadata.ts';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { clientSettings, clusterPath, oneOffClient } from './client-settings.ts';
import { resolveOrExit } from './command-runner.ts';

/** `cflux members list|add|remove [NAME]`: which nodes hold data (placement members). */
export function membersCommand(): Command {
  const command = new Command('members')
    .description('list, add or remove the data members (nodes that hold measurements); moving existing data is not automatic yet')
    .addArgument(new Argument('<action>', 'what to do').choices(['list', 'add', 'remove']))
    .addArgument(new Argument('[name]', 'node name (for add and remove)'));
  addSettingOptions(command, clientSettings);
  command.action(async (action: 'list' | 'add' | 'remove', name: string | undefined, flags: Record<string, unknown>) => {
    const options = resolveOrExit('members', clientSettings, flags);
    const client = oneOffClient(options.manager);
    const path = `/clusters/${clusterPath(options.cluster)}`;
    try {
      if (action !== 'list' && !name) throw new Error(`cflux members ${action} needs a node name`);
      for (let attempt = 0; attempt < 20; attempt++) {
        const current = await client.request<{ version: number; metadata: ClusterMetadata | null }>('GET', path);
        if (current.status !== 200) throw new Error(`manager answered ${current.status}`);
        const metadata = current.body.metadata ?? emptyMetadata();
        if (action === 'list') {
          const members = metadata.settings.dataMembers;
          process.stdout.write(options.json ? JSON.stringify(members) + '\n' : members.map((member) => member + '\n').join('') || `no data members in cluster "${options.cluster}"\n`);
          return;
        }
        const result = applyOperation(metadata, action === 'add' ? { op: 'addMember', name: name! } : { op: 'removeMember', name: name! }, undefined);
        if (!result.ok) throw new Error(result.error);
        if (!result.changed) {
          process.stdout.write(`${name} is ${action === 'add' ? 'already' : 'not'} a data member\n`);
          return;
        }
        const written = await client.request('POST', `${path}/versions/${current.body.version}`, { json: result.metadata });
        if (written.status === 200) {
          process.stdout.write(`${action === 'add' ? 'added' : 'removed'} ${name}; data members: ${result.metadata.settings.dataMembers.join(', ')}\n`);
          return;
        }
        if (written.status !== 409) throw new Error(`manager answered ${written.status}: ${JSON.stringify(written.body)}`);
      }
      throw new Error('the metadata kept changing; try again');
    } catch (err) {
      process.stderr.write(`cflux members: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}
