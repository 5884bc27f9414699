import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

/** Load figures sent with every heartbeat (`stats` in the manager's node record). */
export interface LoadStats {
  cpuPercent?: number;
  load1?: number;
  load5?: number;
  load15?: number;
  memoryTotalBytes?: number;
  memoryUsedBytes?: number;
  /** From the container's cgroup, when it has a limit. */
  cgroupMemoryLimitBytes?: number;
  cgroupMemoryUsedBytes?: number;
  cgroupCpuLimitCores?: number;
  /** Agent process uptime in seconds. */
  uptimeSeconds: number;
}

export interface CgroupLimits {
  memoryLimitBytes?: number;
  memoryUsedBytes?: number;
  cpuLimitCores?: number;
}

async function readNumber(path: string): Promise<number | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Above this a v1 memory limit means "unlimited" (the kernel stores ~2^63 rounded to pages). */
const V1_UNLIMITED = 2 ** 60;

/**
 * The container's memory and CPU limits: cgroup v2 (`memory.max`, `cpu.max`)
 * when mounted, else cgroup v1 (`memory.limit_in_bytes`, `cpu.cfs_quota_us`).
 * Absent or "max" means no limit and leaves the field out.
 */
export async function readCgroupLimits(root = '/sys/fs/cgroup'): Promise<CgroupLimits> {
  const limits: CgroupLimits = {};
  const v2Memory = await readText(join(root, 'memory.max'));
  if (v2Memory !== undefined) {
    if (/^\d+$/.test(v2Memory)) limits.memoryLimitBytes = Number(v2Memory);
    const used = await readNumber(join(root, 'memory.current'));
    if (used !== undefined) limits.memoryUsedBytes = used;
  } else {
    const v1Limit = await readNumber(join(root, 'memory', 'memory.limit_in_bytes'));
    if (v1Limit !== undefined && v1Limit < V1_UNLIMITED) limits.memoryLimitBytes = v1Limit;
    const used = await readNumber(join(root, 'memory', 'memory.usage_in_bytes'));
    if (used !== undefined && limits.memoryLimitBytes !== undefined) limits.memoryUsedBytes = used;
  }
  const v2Cpu = await readText(join(root, 'cpu.max'));
  if (v2Cpu !== undefined) {
    const [quota, period] = v2Cpu.split(/\s+/);
    if (quota && quota !== 'max' && Number(period) > 0) limits.cpuLimitCores = Number(quota) / Number(period);
  } else {
    const quota = await readText(join(root, 'cpu', 'cpu.cfs_quota_us'));
    const period = await readNumber(join(root, 'cpu', 'cpu.cfs_period_us'));
    if (quota && /^\d+$/.test(quota) && period) limits.cpuLimitCores = Number(quota) / period;
  }
  return limits;
}

/**
 * Collects LoadStats; a figure the platform cannot give is left out, never
 * fatal. Sampling CPU usage takes a moment, so heartbeats never wait for it:
 * `latest()` answers with the newest snapshot and refreshes it in the
 * background (only the very first call waits).
 */
export class LoadStatsCollector {
  /** CPU times at the last collect: usage is measured between two collects. */
  #lastCpu = cpuTimes();
  readonly #cgroupRoot: string;
  readonly #startedAt = Date.now();
  #snapshot: LoadStats | undefined;
  #refreshing: Promise<LoadStats> | undefined;

  constructor(cgroupRoot = '/sys/fs/cgroup') {
    this.#cgroupRoot = cgroupRoot;
  }

  /** The newest snapshot (uptime always current); starts a refresh when none is running. */
  async latest(): Promise<LoadStats> {
    const refreshing = (this.#refreshing ??= this.collect().then(
      (stats) => {
        this.#snapshot = stats;
        this.#refreshing = undefined;
        return stats;
      },
      (err: unknown) => {
        this.#refreshing = undefined;
        throw err;
      },
    ));
    const stats = this.#snapshot ?? (await refreshing);
    return { ...stats, uptimeSeconds: this.#uptime() };
  }

  async collect(): Promise<LoadStats> {
    // From Node's own os module (no package: node-os-utils cost the agent ~4 MiB of memory).
    const cgroup = await readCgroupLimits(this.#cgroupRoot);
    const stats: LoadStats = { uptimeSeconds: this.#uptime() };
    const now = cpuTimes();
    const busy = now.busy - this.#lastCpu.busy;
    const all = now.total - this.#lastCpu.total;
    this.#lastCpu = now;
    if (all > 0) stats.cpuPercent = round((busy / all) * 100);
    const [load1, load5, load15] = loadavg();
    Object.assign(stats, { load1: round(load1!), load5: round(load5!), load15: round(load15!) });
    stats.memoryTotalBytes = totalmem();
    stats.memoryUsedBytes = totalmem() - freemem();
    if (cgroup.memoryLimitBytes !== undefined) stats.cgroupMemoryLimitBytes = cgroup.memoryLimitBytes;
    if (cgroup.memoryUsedBytes !== undefined) stats.cgroupMemoryUsedBytes = cgroup.memoryUsedBytes;
    if (cgroup.cpuLimitCores !== undefined) stats.cgroupCpuLimitCores = round(cgroup.cpuLimitCores);
    return stats;
  }

  #uptime(): number {
    return Math.round((Date.now() - this.#startedAt) / 1000);
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Busy and total CPU time of every core so far (ms). */
function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.idle + times.irq;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total };
}
