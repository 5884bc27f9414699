import { Command } from 'commander';
import { agentSettings } from '../agent/agent-settings.ts';
import { loadAgentSecrets } from '../agent/agent-secrets.ts';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { messageOf } from '../shared/errors.ts';
import { createLogger } from '../shared/logging.ts';
import { loadOrExit, resolveOrExit, stopOnSignals, startFailureText } from './command-runner.ts';
import { loadEnvironment } from '../shared/config/sources.ts';

/** `cflux agent`: runs beside one influxd. */
export function agentCommand(): Command {
  const command = new Command('agent').description(
    'run the agent beside an influxd: the InfluxDB-compatible proxy on --listen (:8087; clients write and query here, each measurement goes to its replicated owners), ' +
      'the peer API and /healthz /readyz /metrics on --peer-listen (:8888); it registers with the manager, mirrors the cluster metadata into influxd, keeps hinted-handoff queues, repairs and moves data',
  );
  addSettingOptions(command, agentSettings);
  command.action(async (flags: Record<string, unknown>) => {
    const options = resolveOrExit('agent', agentSettings, flags);
    const env = loadEnvironment();
    const secrets = loadOrExit('agent', () => loadAgentSecrets(options, env));
    const logger = createLogger({ level: options.logLevel, format: options.logFormat, ...(options.once ? { destination: process.stderr } : {}) });
    const { Agent } = await import('../agent/agent.ts');
    const agent = new Agent(options, logger, secrets, env);
    if (options.once) {
      try {
        const { 'node-key': _proof, ...node } = await agent.runOnce();
        process.stdout.write(JSON.stringify(node, null, 2) + '\n');
        process.exit(0);
      } catch (err) {
        process.stderr.write(`cflux agent --once: ${messageOf(err)}\n`);
        await agent.stop().catch(() => undefined);
        process.exit(1);
      }
    }
    try {
      await agent.start();
    } catch (err) {
      const why = startFailureText(err, [{ port: options.listen.port, flag: '--listen (CFLUX_LISTEN)' }, { port: options.peerListen.port, flag: '--peer-listen (CFLUX_PEER_LISTEN)' }]);
      logger.fatal({ reason: why }, 'agent failed to start');
      process.stderr.write(`cflux agent: cannot start: ${why}\n`);
      process.exit(1);
    }
    stopOnSignals(agent, (message) => logger.info({ component: 'agent' }, message));
  });
  return command;
}
