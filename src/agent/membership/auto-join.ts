import { randomBytes } from 'node:crypto';
import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { MetadataMirror } from '../metadata/metadata-mirror.ts';

/**
 * A node joins the data members by itself while the cluster holds no
 * database (nothing has to move). When the cluster holds data it joins only
 * with `--auto-join`: then it starts a move that copies its share to it
 * (docs/moves.md), and is a member once the move is done. Otherwise later
 * joins are explicit (`cflux members add NAME`). Returns whether the node is
 * a member now.
 */
export async function joinDataMembers(mirror: MetadataMirror, nodeName: string, logger: Logger, autoJoin: boolean): Promise<boolean> {
  const settings = mirror.appliedMetadata.settings;
  if (settings.dataMembers.includes(nodeName)) return true;
  if (settings.move) return false; // a move runs (perhaps this node's own join): wait for it
  try {
    // Decided on the cluster's newest document, inside the compare-and-swap: not on what this agent applied so far.
    const [outcome] = await mirror.applyOperations([{ op: 'addMember', name: nodeName, whileEmpty: true }]);
    if (outcome?.ok) {
      const member = mirror.appliedMetadata.settings.dataMembers.includes(nodeName);
      if (member) logger.info({ node: nodeName }, 'joined the data members (the cluster holds no database yet)');
      return member;
    }
    if (!autoJoin) return false;
    const target = [...new Set([...mirror.appliedMetadata.settings.dataMembers, nodeName])].sort();
    const move = { id: randomBytes(9).toString('base64url'), kind: 'add' as const, target, empty: [], startedAt: new Date().toISOString(), phase: 'dual' as const, units: {} };
    const [started] = await mirror.applyOperations([{ op: 'startMove', move }]);
    if (started?.ok) logger.info({ node: nodeName, move: move.id, target }, 'joining the data members (--auto-join): its share of the data is moved to it');
    return false;
  } catch (err) {
    logger.warn({ reason: messageOf(err) }, 'cannot join the data members yet');
    return false;
  }
}
