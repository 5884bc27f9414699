import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffOptions } from '../../shared/backoff.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { AgentLifecycle } from '../agent-lifecycle.ts';
import type { InfluxdMonitor } from '../influxd/influxd-monitor.ts';
import type { MembershipApi, RegisteredNode, RegistrationBody } from './membership-api.ts';

/** Counters the loop reports (the agent turns them into Prometheus metrics). */
export interface MembershipEvents {
  heartbeat(outcome: 'ok' | 'unknown' | 'failed', seconds: number): void;
  registered(node: RegisteredNode): void;
}

export interface MembershipLoopOptions {
  cluster: string;
  api: MembershipApi;
  influxd: InfluxdMonitor;
  lifecycle: AgentLifecycle;
  logger: Logger;
  /** Builds the registration body (IPs and stats are read fresh each time). */
  describe: (influxdVersion: string) => Promise<RegistrationBody>;
  /** Load stats for each heartbeat. */
  collectStats: () => Promise<Record<string, unknown>>;
  heartbeatIntervalMs: number;
  events?: MembershipEvents;
  /** Waits between registration attempts; tests shorten them. */
  registrationBackoff?: BackoffOptions;
}

/** Half a second first, never more than 10 s: a restarted manager sees every agent within 10 s. */
const REGISTRATION_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 10_000 };

/**
 * Waits for influxd, registers, heartbeats, and re-registers when the manager
 * forgot this node (404). An unreachable manager never stops the loop: each
 * call makes its attempts (ManagerClient), then the failure is logged and
 * the loop tries again after a backoff.
 */
export class MembershipLoop {
  readonly #options: MembershipLoopOptions;
  #node: RegisteredNode | undefined;

  constructor(options: MembershipLoopOptions) {
    this.#options = options;
  }

  /** The manager's record of this node, once registered. */
  get node(): RegisteredNode | undefined {
    return this.#node;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { lifecycle } = this.#options;
    try {
      lifecycle.set('waiting-for-influxd');
      await this.#options.influxd.waitUntilReachable(signal);
      lifecycle.set('registering');
      await this.#registerUntilDone(signal);
      lifecycle.set('running', { id: this.#node?.id });
      await this.#heartbeatLoop(signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  /** One registration attempt round (used by --once); throws when the manager cannot be reached. */
  async registerOnce(signal: AbortSignal): Promise<RegisteredNode> {
    const version = this.#options.influxd.status.version ?? 'unknown';
    const node = await this.#options.api.register(this.#options.cluster, await this.#options.describe(version), signal);
    this.#adopt(node);
    return node;
  }

  /** Removes this node from the manager; bounded by `timeoutMs`. */
  async deregister(timeoutMs: number): Promise<void> {
    const node = this.#node;
    if (!node) return;
    try {
      await this.#options.api.deregister(this.#options.cluster, node, AbortSignal.timeout(timeoutMs));
      this.#options.logger.info({ id: node.id }, 'deregistered');
      this.#node = undefined;
    } catch (err) {
      this.#options.logger.warn({ id: node.id, reason: messageOf(err) }, 'deregistration failed; the manager will expire this node after its TTL');
    }
  }

  /** The heartbeat period actually used: the configured one, lowered below TTL/2 when needed. */
  effectiveIntervalMs(): number {
    const configured = this.#options.heartbeatIntervalMs;
    const ttlMs = (this.#node?.ttl ?? Infinity) * 1000;
    // Below TTL/2 so one lost heartbeat never expires the node; TTL/3 like etcd's own keepalive.
    return configured < ttlMs / 2 ? configured : Math.floor(ttlMs / 3);
  }

  async #registerUntilDone(signal: AbortSignal): Promise<void> {
    for (let failures = 0; ; failures++) {
      try {
        await this.registerOnce(signal);
        return;
      } catch (err) {
        if (signal.aborted) throw err;
        const delay = backoffDelay(failures, this.#options.registrationBackoff ?? REGISTRATION_BACKOFF);
        this.#options.logger.warn({ reason: messageOf(err), retryInMs: delay }, 'registration failed');
        await sleep(delay, undefined, { signal });
      }
    }
  }

  async #heartbeatLoop(signal: AbortSignal): Promise<void> {
    const { api, cluster, logger, events } = this.#options;
    while (!signal.aborted) {
      await sleep(this.effectiveIntervalMs(), undefined, { signal });
      const node = this.#node!;
      const started = performance.now();
      let outcome: 'ok' | 'unknown' | 'failed';
      try {
        outcome = await api.heartbeat(cluster, node, await this.#options.collectStats(), signal);
      } catch (err) {
        if (signal.aborted) return;
        outcome = 'failed';
        logger.warn({ id: node.id, reason: messageOf(err) }, 'heartbeat failed');
      }
      events?.heartbeat(outcome, (performance.now() - started) / 1000);
      if (outcome === 'unknown') {
        logger.warn({ id: node.id }, 'manager no longer knows this node; registering again');
        this.#options.lifecycle.set('registering', { reason: 'manager answered 404' });
        await this.#registerUntilDone(signal);
        this.#options.lifecycle.set('running', { id: this.#node?.id });
      }
    }
  }

  #adopt(node: RegisteredNode): void {
    const previous = this.#node?.id;
    this.#node = node;
    this.#options.events?.registered(node);
    this.#options.logger.info({ id: node.id, previousId: previous, name: node.name, bindAddress: node['bind-address'], ttlSeconds: node.ttl }, 'registered');
    if (this.#options.heartbeatIntervalMs >= (node.ttl * 1000) / 2) {
      this.#options.logger.warn(
        { configuredMs: this.#options.heartbeatIntervalMs, usedMs: this.effectiveIntervalMs(), ttlSeconds: node.ttl },
        'heartbeat interval must stay below the manager TTL / 2; using TTL / 3',
      );
    }
  }
}
