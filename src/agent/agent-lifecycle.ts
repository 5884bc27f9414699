import type { Logger } from '../shared/logging.ts';

/** The agent's states, in the order a healthy agent passes them. */
export const AGENT_STATES = ['starting', 'waiting-for-influxd', 'registering', 'running', 'draining', 'stopped'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** The agent's state, changed in this one place, every change logged as `from -> to`. */
export class AgentLifecycle {
  #state: AgentState = 'starting';
  readonly #logger: Logger;
  readonly #listeners: Array<(state: AgentState) => void> = [];

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get state(): AgentState {
    return this.#state;
  }

  /** Moves to `next`; no-op when already there. Once stopped, the agent stays stopped. */
  set(next: AgentState, detail: Record<string, unknown> = {}): void {
    if (next === this.#state || this.#state === 'stopped') return;
    this.#logger.info({ from: this.#state, to: next, ...detail }, 'agent state');
    this.#state = next;
    for (const listener of this.#listeners) listener(next);
  }

  onChange(listener: (state: AgentState) => void): void {
    this.#listeners.push(listener);
  }
}
