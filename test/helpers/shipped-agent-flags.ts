/**
 * The environment the shipped units give the agent (kubernetes/influxdb.yaml,
 * deploy/systemd/cflux-agent.service; the Dockerfile's header shows it for
 * `docker run`), so that the benchmarks measure what ships. Unit tests check
 * the units carry exactly this; docs/agent.md "Memory" says why each is there.
 * Only the agent gets it: the manager's memory and CPU are another matter.
 */
export const SHIPPED_AGENT_ENV: Readonly<Record<string, string>> = {
  // A 1 MiB young generation: -1.4 MiB idle RSS, no measurable CPU cost at RF 2.
  NODE_OPTIONS: '--max-semi-space-size=1',
  // Two malloc arenas instead of one per thread (up to 8 per core): -0.4 MiB idle.
  MALLOC_ARENA_MAX: '2',
  // Fixed at 1 MiB, these two stop glibc from raising its trim threshold up to
  // 64 MiB once a write body (~350 KB) was freed: the heap's free top goes back
  // to the system past 1 MiB. RF 2 peak under bench:write 88.6-91.9 MiB in four
  // runs, against 89.1-104.3 MiB without (docs/agent.md "Memory").
  MALLOC_MMAP_THRESHOLD_: '1048576',
  MALLOC_TRIM_THRESHOLD_: '1048576',
};

/** The agent's production periods and log level (the fixtures' defaults are faster, for tests). */
export const AGENT_PRODUCTION_ARGS = ['--heartbeat-interval', '5', '--drift-interval', '10', '--log-level', 'info'];

/**
 * The manager's: a cap on V8's old generation (kubernetes/manager.yaml). The
 * manager allocates fast (2,000 heartbeats a second at 10,000 agents) and V8
 * let its heap grow to ~600 MiB of mostly garbage; with the cap it collects
 * sooner and stayed under 512 MiB RSS at 10,000 agents for the same CPU (docs/manager.md
 * "Scaling"). Sized for 10,000 agents per replica: more agents, more replicas.
 */
export const SHIPPED_MANAGER_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--max-old-space-size=400',
};
