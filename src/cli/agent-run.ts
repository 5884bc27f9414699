import { agentSettings } from '../agent/agent-settings.ts';
import { loadAgentSecrets } from '../agent/agent-secrets.ts';
import { parseSettingArgs } from '../shared/config/setting-args.ts';
import { loadEnvironment } from '../shared/config/sources.ts';
import { messageOf } from '../shared/errors.ts';
import { createLogger } from '../shared/logging.ts';
import { loadOrExit, resolveOrExit, startFailureText, stopOnSignals } from './command-runner.ts';

/**
 * `cflux agent ARGS` without commander, when parseArgs reads ARGS as the
 * agent's settings; false otherwise (help, a usage error), and the caller
 * runs the whole command line (agent-command.ts gives the same flags to
 * {@link runAgent}). The agent keeps every module it loads for as long as it
 * runs: docs/agent.md "Memory".
 */
export async function runAgentFromArgs(args: readonly string[]): Promise<boolean> {
  const flags = parseSettingArgs(agentSettings, args);
  if (flags === undefined) return false;
  await runAgent(flags);
  return true;
}

/** Starts the agent with parsed `flags` (stops on SIGTERM/SIGINT), or runs `--once`. */
export async function runAgent(flags: Record<string, unknown>): Promise<void> {
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
}
