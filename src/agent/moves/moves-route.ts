import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import { messageOf } from '../../shared/errors.ts';
import type { Router } from '../../shared/http/router.ts';
import type { ReplicaAccess } from '../repair/unit-repair.ts';
import { planMove } from './move-plan.ts';

/**
 * `POST /peer/v1/moves/plan?target=a&target=b&empty=b` on the peer port (peer
 * token): what a move of the data members to `target` would copy, measured
 * on the nodes now (`cflux members add|remove|replace` prints it before it
 * starts the move at the manager).
 */
export function addMovesRoute(router: Router, parts: { metadata: () => ClusterMetadata; nodes: () => readonly string[]; available: (node: string) => boolean; access: () => ReplicaAccess | undefined; bytesPerSecond: number }): void {
  router.add('POST', '/peer/v1/moves/plan', async ({ query, signal }) => {
    const access = parts.access();
    if (!access) return { status: 503, body: { error: 'the agent is starting: try again in a moment' } };
    const list = (name: string) => query.getAll(name).filter((node) => node !== '');
    const target = list('target');
    if (target.length === 0) return { status: 400, body: { error: 'target: name each data member after the move (target=NAME, repeated)' } };
    try {
      const plan = await planMove({ metadata: parts.metadata(), move: { target, empty: list('empty') }, nodes: [...new Set([...parts.nodes(), ...target])], available: parts.available, access, signal });
      return { status: 200, body: { ...plan, bytesPerSecond: parts.bytesPerSecond } };
    } catch (err) {
      return { status: 502, body: { error: `cannot measure the move: ${messageOf(err)}` } };
    }
  });
}
