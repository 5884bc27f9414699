import { Command } from 'commander';
import { caFileSetting } from '../shared/config/common-settings.ts';
import { addSettingOptions } from '../shared/config/cli-options.ts';
import { optionalTextSetting, switchSetting } from '../shared/config/parsers.ts';
import { messageOf } from '../shared/errors.ts';
import { AgentClient, agentClientSettings } from './agent-client.ts';
import { resolveOrExit } from './command-runner.ts';

const repairSettings = {
  ...agentClientSettings,
  caFile: caFileSetting,
  database: optionalTextSetting({ name: 'database', env: 'CFLUX_REPAIR_DATABASE', description: 'repair only this database', maxLength: 255, defaultLabel: 'every database' }),
  measurement: optionalTextSetting({ name: 'measurement', env: 'CFLUX_REPAIR_MEASUREMENT', description: 'repair only this measurement', maxLength: 255, defaultLabel: 'every measurement' }),
  dryRun: switchSetting({ name: 'dry-run', env: 'CFLUX_DRY_RUN', description: 'compare and report, copy nothing' }),
  json: switchSetting({ name: 'json', env: 'CFLUX_JSON', description: 'print the result as JSON' }),
};

interface Progress {
  unitsDone: number;
  unitsTotal: number;
  unitsFailed: number;
  windowsCompared: number;
  windowsDiffering: number;
  pointsCopied: number;
  bytesCopied: number;
  startedAt: number;
  dryRun?: boolean;
}

/** `cflux repair`: compares the replicas of every unit and copies what one lacks, through an agent. */
export function repairCommand(): Command {
  const command = new Command('repair').description('compare the replicas of every unit (anti-entropy) and copy to each owner what another holds and it lacks; --dry-run reports only');
  addSettingOptions(command, repairSettings);
  command.action(async (flags: Record<string, unknown>) => {
    const options = resolveOrExit('repair', repairSettings, flags);
    const client = new AgentClient('repair', options);
    const params = new URLSearchParams({ ...(options.database ? { database: options.database } : {}), ...(options.measurement ? { measurement: options.measurement } : {}), ...(options.dryRun ? { 'dry-run': 'true' } : {}) });
    try {
      const answer = await client.post(`/peer/v1/repair?${params}`);
      let pending = '';
      let done: Progress | undefined;
      const tty = process.stderr.isTTY === true && !options.json;
      for await (const chunk of answer.body) {
        pending += String(chunk);
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines.filter((text) => text.trim() !== '')) {
          const event = JSON.parse(line) as { progress?: Progress; done?: Progress; error?: string };
          if (event.error) throw new Error(event.error);
          if (event.done) done = event.done;
          if (event.progress && !options.json) process.stderr.write(`${tty ? '\r' : ''}${progressLine(event.progress)}${tty ? '' : '\n'}`);
        }
      }
      if (tty) process.stderr.write('\n');
      if (!done) throw new Error('the agent ended the repair without a result');
      process.stdout.write(options.json ? JSON.stringify(done) + '\n' : summary(done));
      if (done.unitsFailed > 0) process.exitCode = 1;
    } catch (err) {
      process.stderr.write(`cflux repair: ${messageOf(err)}\n`);
      process.exitCode = 1;
    } finally {
      await client.close();
    }
  });
  return command;
}

/** `[#####.....] 12/30 units  4,500 points copied  2.1 MB  1,800 points/s  ETA 7s` */
function progressLine(progress: Progress): string {
  const width = 20;
  const fraction = progress.unitsTotal === 0 ? 1 : progress.unitsDone / progress.unitsTotal;
  const filled = Math.round(fraction * width);
  const seconds = Math.max(0.001, (Date.now() - progress.startedAt) / 1000);
  const rate = progress.pointsCopied / seconds;
  const eta = fraction > 0 && fraction < 1 ? `  ETA ${Math.ceil((seconds / fraction) * (1 - fraction))}s` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progress.unitsDone}/${progress.unitsTotal} units  ${progress.pointsCopied.toLocaleString('en-US')} points copied  ${(progress.bytesCopied / 1e6).toFixed(1)} MB  ${Math.round(rate).toLocaleString('en-US')} points/s${eta}`;
}

function summary(done: Progress): string {
  const verb = done.dryRun ? 'would copy' : 'copied';
  return (
    `${done.unitsDone} units compared (${done.windowsCompared} windows, ${done.windowsDiffering} differing); ` +
    `${verb} ${done.pointsCopied.toLocaleString('en-US')} points (${(done.bytesCopied / 1e6).toFixed(1)} MB) in ${((Date.now() - done.startedAt) / 1000).toFixed(1)} s` +
    (done.unitsFailed > 0 ? `; ${done.unitsFailed} units could not be compared (an owner was unavailable)` : '') +
    '\n'
  );
}
