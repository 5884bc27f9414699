import { messageOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { MetadataMirror } from '../metadata/metadata-mirror.ts';

/**
 * A node joins the data members by itself only while the cluster holds no
 * database (nothing would have to move). Later joins are explicit
 * (`cflux members add NAME`). Returns whether the node is a member now.
 */
export async function joinWhileEmpty(mirror: MetadataMirror, nodeName: string, logger: Logger): Promise<boolean> {
  if (mirror.appliedMetadata.settings.dataMembers.includes(nodeName)) return true;
  try {
    // Decided on the cluster's newest document, inside the compare-and-swap: not on what this agent applied so far.
    const [outcome] = await mirror.applyOperations([{ op: 'addMember', name: nodeName, whileEmpty: true }]);
    if (!outcome?.ok) return false;
    logger.info({ node: nodeName }, 'joined the data members (the cluster holds no database yet)');
    return mirror.appliedMetadata.settings.dataMembers.includes(nodeName);
  } catch (err) {
    logger.warn({ reason: messageOf(err) }, 'cannot join the data members yet');
    return false;
  }
}
