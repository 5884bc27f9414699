import { InvalidSettingError } from '../shared/errors.ts';
import { gatherSources } from '../shared/config/sources.ts';
import { resolveSettings, type ResolvedSettings, type SettingMap } from '../shared/config/setting.ts';

/** Exit status for a bad setting (docs/design.md: validated at start, exit 2, one line). */
export const EXIT_BAD_SETTING = 2;

/**
 * Resolves a command's settings from flags, environment (+ .env) and the TOML
 * file. A bad value prints one line naming the setting and exits 2.
 */
export function resolveOrExit<S extends SettingMap>(command: string, settings: S, flags: Record<string, unknown>): ResolvedSettings<S> {
  try {
    return resolveSettings(settings, gatherSources(command, flags));
  } catch (err) {
    if (err instanceof InvalidSettingError) {
      process.stderr.write(`cflux ${command}: ${err.message}\n`);
      process.exit(EXIT_BAD_SETTING);
    }
    throw err;
  }
}

/** Runs `load` (reading secrets and files named by settings); a bad one prints one line and exits 2. */
export function loadOrExit<T>(command: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof InvalidSettingError) {
      process.stderr.write(`cflux ${command}: ${err.message}\n`);
      process.exit(EXIT_BAD_SETTING);
    }
    throw err;
  }
}

/**
 * Why a server could not start, for a person: a port already taken names the
 * setting that chooses it (`listeners`: port → flag); anything else as it is.
 */
export function startFailureText(err: unknown, listeners: ReadonlyArray<{ port: number; flag: string }>): string {
  const failure = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (failure?.code === 'EADDRINUSE') {
    const listener = listeners.find((candidate) => candidate.port === failure.port) ?? listeners[0];
    return `${failure.address ?? ''}:${failure.port ?? '?'} is already in use by another process: stop it, or choose another address with ${listener?.flag ?? 'the listen setting'}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Something long-running that stops cleanly. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a service until SIGTERM or SIGINT, then stops it and exits 0. A second
 * signal while stopping exits at once (130), as an impatient operator expects.
 */
export function stopOnSignals(service: Stoppable, log: (message: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`second ${signal}: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal} received: shutting down`);
    service.stop().then(
      () => {
        log('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
