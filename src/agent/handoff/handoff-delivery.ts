import { messageOf } from '../../shared/errors.ts';
import { isRecoverableStatus } from '../../shared/recoverable.ts';
import type { LocalPassthrough } from '../influxd/local-passthrough.ts';
import type { PeerClient } from '../peer/peer-client.ts';
import type { PeerDirectory } from '../peer/peer-directory.ts';
import type { DeliveryOutcome, HintDelivery, ReplayBatch } from './hinted-handoff.ts';

/** A returning node's readiness is asked for this long at most. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Where replayed hints go: this node's own influxd (written with the
 * agent's identity), or another agent's replay endpoint, which writes with
 * that agent's identity. Hints carry no client credentials; the client's
 * right to write was established before the hint was kept.
 */
export function handoffDelivery(parts: {
  self: string;
  influxdReachable: () => boolean;
  directory: PeerDirectory;
  peers: PeerClient;
  influxd: LocalPassthrough;
  /** The agent's own influxd credentials as an Authorization header (none when influxd has no auth). */
  agentAuthorization: string | undefined;
}): HintDelivery {
  const lastAddress = new Map<string, string>();
  return {
    available: (target) => (target === parts.self ? parts.influxdReachable() : parts.directory.isAvailable(target)),
    async probe(target: string, signal: AbortSignal): Promise<boolean> {
      if (target === parts.self) return false;
      // A node gone long enough leaves the manager's list: its last address is asked instead.
      const address = parts.directory.get(target)?.address ?? lastAddress.get(target);
      if (address === undefined) return false;
      lastAddress.set(target, address);
      return parts.peers.ready(address, PROBE_TIMEOUT_MS, signal);
    },
    async deliver(target: string, batch: ReplayBatch, signal: AbortSignal): Promise<DeliveryOutcome> {
      const params = new URLSearchParams({ db: batch.database });
      if (batch.retentionPolicy !== null) params.set('rp', batch.retentionPolicy);
      if (batch.precision !== null) params.set('precision', batch.precision);
      let answer: { status: number; body: string };
      try {
        if (target === parts.self) answer = await parts.influxd.write(params, batch.body, parts.agentAuthorization, signal);
        else {
          const peer = await parts.directory.resolve(target);
          if (!peer) return { result: 'retry', reason: `node ${target} is not known to the manager` };
          answer = await parts.peers.replay(peer.address, params, batch.body, signal);
        }
      } catch (err) {
        if (target !== parts.self) parts.directory.markDown(target);
        return { result: 'retry', reason: messageOf(err) };
      }
      return outcomeOf(answer);
    },
  };
}

/** What a replay answer means: stored (bad lines are influxd's verdict), never storable, or later. */
export function outcomeOf(answer: { status: number; body: string }): DeliveryOutcome {
  if (answer.status === 204 || answer.status === 400) return { result: 'ok' };
  if (/database not found|retention policy not found/.test(answer.body)) return { result: 'drop', reason: answer.body.slice(0, 300) };
  if (isRecoverableStatus(answer.status) || answer.status === 401 || answer.status === 403) return { result: 'retry', reason: `answered ${answer.status}: ${answer.body.slice(0, 300)}` };
  return { result: 'drop', reason: `answered ${answer.status}: ${answer.body.slice(0, 300)}` };
}
