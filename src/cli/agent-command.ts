import { Command } from 'commander';
import { agentSettings } from '../agent/agent-settings.ts';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { runAgent } from './agent-run.ts';

/** `cflux agent`: runs beside one influxd. bin/cflux.ts usually starts it without commander (agent-run.ts); this is for help and usage errors. */
export function agentCommand(): Command {
  const command = new Command('agent').description(
    'run the agent beside an influxd: the InfluxDB-compatible proxy on --listen (:8087; clients write and query here, each measurement goes to its replicated owners), ' +
      'the peer API and /healthz /readyz /metrics on --peer-listen (:8888); it registers with the manager, mirrors the cluster metadata into influxd, keeps hinted-handoff queues, repairs and moves data',
  );
  addSettingOptions(command, agentSettings);
  command.action((flags: Record<string, unknown>) => runAgent(flags));
  return command;
}
