import { Argument, Command } from 'commander';
import { applyOperation } from '../cluster/apply-operation.ts';
import { emptyMetadata } from '../cluster/cluster-metadata.ts';
import { updateDocument } from '../cluster/document-update.ts';
import { ManagerMetadataApi } from '../agent/metadata/metadata-api.ts';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { clientSettings, oneOffClient } from './client-settings.ts';
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
    const api = new ManagerMetadataApi(oneOffClient('members', options));
    try {
      if (action !== 'list' && !name) throw new Error(`cflux members ${action} needs a node name`);
      const current = await api.get(options.cluster);
      if (action === 'list') {
        const members = (current.metadata ?? emptyMetadata()).settings.dataMembers;
        process.stdout.write(options.json ? JSON.stringify(members) + '\n' : members.map((member) => member + '\n').join('') || `no data members in cluster "${options.cluster}"\n`);
        return;
      }
      const operation = action === 'add' ? { op: 'addMember' as const, name: name! } : { op: 'removeMember' as const, name: name! };
      const update = await updateDocument(
        current,
        (metadata) => {
          const result = applyOperation(metadata ?? emptyMetadata(), operation, undefined);
          if (!result.ok) throw new Error(result.error);
          return { ...result, result: result.metadata.settings.dataMembers };
        },
        (base, metadata) => api.write(options.cluster, base, metadata),
      );
      if (!update.written) process.stdout.write(`${name} is ${action === 'add' ? 'already' : 'not'} a data member\n`);
      else process.stdout.write(`${action === 'add' ? 'added' : 'removed'} ${name}; data members: ${update.result.join(', ')}\n`);
    } catch (err) {
      process.stderr.write(`cflux members: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}
