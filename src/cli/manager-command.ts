import { Command } from 'commander';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { createLogger } from '../shared/logging.ts';
import { managerSettings } from '../manager/manager-settings.ts';
import { loadOrExit, resolveOrExit, stopOnSignals, startFailureText } from './command-runner.ts';
import { loadManagerSecrets } from '../manager/manager-secrets.ts';
import { loadEnvironment } from '../shared/config/sources.ts';

/** `cflux manager`: the HTTP API agents register with. */
export function managerCommand(): Command {
  const command = new Command('manager').description('run the manager: node registry and versioned cluster metadata (etcd v3, or in memory)');
  addSettingOptions(command, managerSettings);
  command.action(async (flags: Record<string, unknown>) => {
    const options = resolveOrExit('manager', managerSettings, flags);
    const secrets = loadOrExit('manager', () => loadManagerSecrets(options, loadEnvironment()));
    const logger = createLogger({ level: options.logLevel, format: options.logFormat });
    // Loaded here, not at the top: other commands (an agent) then never load etcd3 and the manager.
    const { Manager } = await import('../manager/manager.ts');
    const manager = new Manager(options, logger, secrets);
    try {
      await manager.start();
    } catch (err) {
      const why = startFailureText(err, [{ port: options.listen.port, flag: '--listen (CFLUX_LISTEN)' }]);
      logger.fatal({ reason: why }, 'manager failed to start');
      process.stderr.write(`cflux manager: cannot start: ${why}\n`);
      await manager.stop().catch(() => undefined);
      process.exit(1);
    }
    stopOnSignals(manager, (message) => logger.info({ component: 'manager' }, message));
  });
  return command;
}
