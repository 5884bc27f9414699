import { Command, CommanderError } from 'commander';
import { CFLUX_VERSION } from '../shared/version.ts';
import { EXIT_BAD_SETTING } from './command-runner.ts';

/**
 * Every subcommand, loaded on demand: a process imports only the one it runs
 * (an agent never loads the manager's settings, the demo or the CLI's
 * clients), which keeps a long-running agent's memory down (docs/agent.md
 * "Memory"). Listed in the order `cflux --help` shows them.
 */
const SUBCOMMANDS: Record<string, () => Promise<Command>> = {
  manager: async () => (await import('./manager-command.ts')).managerCommand(),
  agent: async () => (await import('./agent-command.ts')).agentCommand(),
  status: async () => (await import('./status-command.ts')).statusCommand(),
  nodes: async () => (await import('./nodes-command.ts')).nodesCommand(),
  meta: async () => (await import('./meta-command.ts')).metaCommand(),
  members: async () => (await import('./members-command.ts')).membersCommand(),
  hh: async () => (await import('./hh-command.ts')).hhCommand(),
  repair: async () => (await import('./repair-command.ts')).repairCommand(),
  demo: async () => (await import('./demo-command.ts')).demoCommand(),
};

/**
 * The `cflux` command line for `argv`: with a known subcommand first, only
 * that one is loaded; otherwise (help, version, a typo) all of them, so help
 * and "unknown command" read as before. Usage errors exit 2, like bad settings.
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('cflux')
    .description(
      'ClusterFlux: one cluster out of several stock InfluxDB 1.x servers. An agent beside each influxd serves an InfluxDB-compatible ' +
        'proxy (point clients at :8087): each measurement is written to and read from its replicated owners. A manager keeps the nodes and the cluster metadata.',
    )
    .version(CFLUX_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride((err: CommanderError) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
      process.exit(EXIT_BAD_SETTING);
    });
  const first = argv[2];
  const names = first !== undefined && Object.hasOwn(SUBCOMMANDS, first) ? [first] : Object.keys(SUBCOMMANDS);
  for (const name of names) {
    const sub = await SUBCOMMANDS[name]!();
    sub.exitOverride((err: CommanderError) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') process.exit(0);
      process.exit(EXIT_BAD_SETTING);
    });
    program.addCommand(sub);
  }
  return program;
}
