/**
 * The node flags and environment the shipped units (Dockerfile, systemd unit,
 * Kubernetes manifests) give the agent, so that the benchmarks measure what
 * ships; test/unit/shipped-agent-flags.test.ts checks the units carry them.
 * docs/agent.md "Memory" says why each one is there.
 */
export const SHIPPED_AGENT_NODE_ARGS: readonly string[] = [];

/** Environment variables the shipped units set for the agent. */
export const SHIPPED_AGENT_ENV: Readonly<Record<string, string>> = {};

/** The agent's production periods and log level (the fixtures' defaults are faster, for tests). */
export const AGENT_PRODUCTION_ARGS = ['--heartbeat-interval', '5', '--drift-interval', '10', '--log-level', 'info'];
