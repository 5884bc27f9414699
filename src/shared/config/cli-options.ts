import { Option, type Command } from 'commander';
import type { SettingMap } from './setting.ts';

/**
 * Adds one commander option per setting. commander only parses: defaults come
 * from the settings themselves, so a flag left out never hides an environment
 * variable or a config-file value.
 */
export function addSettingOptions(command: Command, settings: SettingMap): Command {
  for (const setting of Object.values(settings)) {
    const flags = setting.isFlagOnly ? `--${setting.name}` : `--${setting.name} ${setting.valueHint ?? '<value>'}`;
    const shown = setting.defaultLabel ?? (setting.isFlagOnly ? undefined : JSON.stringify(setting.defaultValue));
    const description = `${setting.description} (env ${setting.env}${shown === undefined ? '' : `; default ${shown}`})`;
    command.addOption(new Option(flags, description));
  }
  command.addOption(new Option('--config <file>', 'TOML config file (env CFLUX_CONFIG; default: first of ./config.toml, ~/.clusterflux/config.toml, /etc/clusterflux/config.toml)'));
  return command;
}
