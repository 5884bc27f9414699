import type { IncomingMessage } from 'node:http';
import { validateClusterName } from '../../shared/config/common-settings.ts';
import { CfluxError } from '../../shared/errors.ts';
import { parseJsonBody, readBody } from '../../shared/http/json-http.ts';
import type { Logger } from '../../shared/logging.ts';
import type { MetadataWatchHub } from '../long-poll/metadata-watch-hub.ts';
import type { ManagerMetrics } from '../manager-metrics.ts';
import type { ManagerOptions } from '../manager-settings.ts';
import type { Store } from '../store/store.ts';
import type { ManagerAuth } from './manager-auth.ts';
import type { RestoreWindow } from './restore-window.ts';

/** What the route modules share. */
export class ManagerApiContext {
  readonly store: Store;
  readonly hub: MetadataWatchHub;
  readonly metrics: ManagerMetrics;
  readonly options: ManagerOptions;
  readonly logger: Logger;
  readonly auth: ManagerAuth;
  /** Only with the memory store (see RestoreWindow). */
  readonly restoreWindow: RestoreWindow | undefined;

  constructor(parts: { store: Store; hub: MetadataWatchHub; metrics: ManagerMetrics; options: ManagerOptions; logger: Logger; auth: ManagerAuth; restoreWindow?: RestoreWindow }) {
    this.store = parts.store;
    this.hub = parts.hub;
    this.metrics = parts.metrics;
    this.options = parts.options;
    this.logger = parts.logger;
    this.auth = parts.auth;
    this.restoreWindow = parts.restoreWindow;
  }

  /** A decoded cluster name from the path, validated (400 otherwise). */
  clusterName(name: string): string {
    const problem = validateClusterName(name);
    if (problem) throw new CfluxError('BAD_REQUEST', `invalid cluster name: ${problem}`);
    return name;
  }

  /** Reads and parses a JSON body within the size limit. */
  async readJson(req: IncomingMessage): Promise<unknown> {
    return parseJsonBody(await readBody(req, this.options.maxBodySize));
  }
}
