import { Command, CommanderError } from 'commander';
import { CFLUX_VERSION } from '../shared/version.ts';
import { EXIT_BAD_SETTING } from './command-runner.ts';
import { agentCommand } from './agent-command.ts';
import { demoCommand } from './demo-command.ts';
import { membersCommand } from './members-command.ts';
import { managerCommand } from './manager-command.ts';
import { metaCommand } from './meta-command.ts';
import { nodesCommand } from './nodes-command.ts';
import { statusCommand } from './status-command.ts';
import { hhCommand } from './hh-command.ts';
import { repairCommand } from './repair-command.ts';

/** The `cflux` command line. Usage errors exit 2, like bad settings. */
export function buildProgram(): Command {
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
  for (const sub of [managerCommand(), agentCommand(), statusCommand(), nodesCommand(), metaCommand(), membersCommand(), hhCommand(), repairCommand(), demoCommand()]) {
    sub.exitOverride((err: CommanderError) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') process.exit(0);
      process.exit(EXIT_BAD_SETTING);
    });
    program.addCommand(sub);
  }
  return program;
}
