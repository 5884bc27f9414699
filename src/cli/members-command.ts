import { Argument, Command } from 'commander';
import { emptyMetadata, revisionOf } from '../cluster/cluster-metadata.ts';
import { ManagerMetadataApi } from '../agent/metadata/metadata-api.ts';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { switchSetting } from '../shared/config/parsers.ts';
import { messageOf } from '../shared/errors.ts';
import { AgentClient, memberAgentSettings } from './agent-client.ts';
import { clientSettings, clusterPath, oneOffClient, unexpectedAnswer } from './client-settings.ts';
import { resolveOrExit } from './command-runner.ts';
import { applyAtManager, describeMove, describePlan, fetchPlan, followMove, startMove, targetOf, type MoveRequest } from './member-move.ts';

const membersSettings = {
  ...clientSettings,
  ...memberAgentSettings,
  dryRun: switchSetting({ name: 'dry-run', env: 'CFLUX_DRY_RUN', description: 'print the plan of a move, change nothing' }),
  detach: switchSetting({ name: 'detach', env: 'CFLUX_DETACH', description: 'start the move and return (cflux members status follows it)' }),
};

type Action = 'list' | 'add' | 'remove' | 'replace' | 'status' | 'cancel';

/**
 * `cflux members list|add|remove|replace|status|cancel`: which nodes hold
 * data, and changing them with the data moved in place (docs/moves.md).
 */
export function membersCommand(): Command {
  const command = new Command('members')
    .description('list the data members, or change them with the data moved in place: add NAME, remove NAME, replace OLD NEW (OLD again: it came back empty); status, cancel')
    .addArgument(new Argument('<action>', 'what to do').choices(['list', 'add', 'remove', 'replace', 'status', 'cancel']))
    .addArgument(new Argument('[name]', 'node name (add, remove; replace: the old node)'))
    .addArgument(new Argument('[new]', 'replace: the new node'));
  addSettingOptions(command, membersSettings);
  command.action(async (action: Action, name: string | undefined, replacement: string | undefined, flags: Record<string, unknown>) => {
    const options = resolveOrExit('members', membersSettings, flags);
    if ((action === 'add' || action === 'remove' || action === 'replace') && (!name || (action === 'replace' && !replacement))) {
      // A usage error, like a bad flag: exit 2.
      process.stderr.write(`cflux members: ${action === 'replace' ? 'replace needs OLD and NEW node names' : `${action} needs a node name`}\n`);
      process.exitCode = 2;
      return;
    }
    const client = oneOffClient('members', options);
    const api = new ManagerMetadataApi(client, (message) => process.stderr.write(`cflux members: waiting: ${message}\n`));
    try {
      const current = await api.get(options.cluster);
      const metadata = current.metadata ?? emptyMetadata();
      if (action === 'list') {
        const members = metadata.settings.dataMembers;
        process.stdout.write(options.json ? JSON.stringify(members) + '\n' : members.map((member) => member + '\n').join('') || `no data members in cluster "${options.cluster}"\n`);
        if (metadata.settings.move && !options.json) process.stderr.write(`a move is running: cflux members status\n`);
        return;
      }
      if (action === 'status') {
        const nodes = await client.request<Array<{ name: string; alive: boolean; stats?: { metadataRevision?: number } }>>('GET', `/nodes/${clusterPath(options.cluster)}`);
        if (nodes.status !== 200) throw unexpectedAnswer(nodes);
        const lagging = nodes.body.filter((node) => node.alive && (node.stats?.metadataRevision ?? 0) < revisionOf(metadata)).map((node) => node.name);
        process.stdout.write(options.json ? JSON.stringify({ dataMembers: metadata.settings.dataMembers, move: metadata.settings.move ?? null, lagging }) + '\n' : describeMove(metadata, lagging));
        return;
      }
      if (action === 'cancel') {
        const move = metadata.settings.move;
        if (!move) return void process.stdout.write('no move is running\n');
        await applyAtManager(api, options.cluster, current, [{ op: 'cancelMove', id: move.id }]);
        process.stdout.write(`cancelled the move (${move.kind}); data members stay ${metadata.settings.dataMembers.join(', ')}; copies already made are dropped from nodes that do not own them\n`);
        return;
      }
      if (!name) return; // checked above
      if (metadata.settings.move) throw new Error('a move of the data members is running: wait for it (cflux members status) or cancel it (cflux members cancel)');
      const nodes = await client.request<Array<{ name: string; 'bind-address': string; alive: boolean }>>('GET', `/nodes/${clusterPath(options.cluster)}`);
      if (nodes.status !== 200) throw unexpectedAnswer(nodes);
      const request: MoveRequest = { kind: action, name, ...(replacement !== undefined ? { replacement } : {}) };
      const { target, empty } = targetOf(metadata, request, nodes.body.map((node) => node.name));
      if (Object.keys(metadata.databases).length === 0) {
        // No data yet: nothing to move, the members simply change.
        if (options.dryRun) return void process.stdout.write(`data members: ${metadata.settings.dataMembers.join(', ')} -> ${target.join(', ')} (the cluster holds no database: nothing moves)\n`);
        const removed = metadata.settings.dataMembers.filter((member) => !target.includes(member)).map((member) => ({ op: 'removeMember' as const, name: member }));
        const added = target.filter((member) => !metadata.settings.dataMembers.includes(member)).map((member) => ({ op: 'addMember' as const, name: member }));
        const after = await applyAtManager(api, options.cluster, current, [...removed, ...added]);
        return void process.stdout.write(`data members: ${after.settings.dataMembers.join(', ')} (the cluster holds no database: nothing moved)\n`);
      }
      const live = nodes.body.find((node) => node.alive);
      if (options.agent === undefined && !live) throw new Error('no agent is alive at the manager to plan the move (or name one with --agent)');
      const agent = new AgentClient('members', { ...options, agent: options.agent ?? `http://${live!['bind-address']}` });
      let planned;
      try {
        planned = await fetchPlan(agent, target, empty);
      } finally {
        await agent.close();
      }
      process.stdout.write(options.json ? JSON.stringify(planned) + '\n' : describePlan(planned, metadata.settings.dataMembers, target));
      if (planned.unavailable.length > 0) {
        const names = planned.unavailable.slice(0, 20).map((unit) => `${unit.database}.${unit.measurement} (on ${unit.from.join(', ')})`);
        throw new Error(`no available node holds ${planned.unavailable.length} units whole, so they cannot be moved: ${names.join('; ')}${planned.unavailable.length > 20 ? '; ...' : ''}`);
      }
      if (options.dryRun) return;
      const move = await startMove(api, options.cluster, current, request.kind, target, empty);
      process.stdout.write(`started move ${move.id}\n`);
      if (options.detach) return void process.stdout.write('follow it with: cflux members status\n');
      const started = performance.now();
      const outcome = await followMove(api, options.cluster, move, planned.points);
      if (!outcome.finished) throw new Error(`the move was cancelled; data members: ${outcome.members.join(', ')}`);
      process.stdout.write(`moved ${planned.units.length} units (${outcome.points.toLocaleString('en-US')} points copied) in ${((performance.now() - started) / 1000).toFixed(1)} s; data members: ${outcome.members.join(', ')}\n`);
    } catch (err) {
      process.stderr.write(`cflux members: ${messageOf(err)}\n`);
      process.exitCode = 1;
    }
  });
  return command;
}
