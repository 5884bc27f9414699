import { CfluxError, StoreUnavailableError, messageOf } from '../../shared/errors.ts';

/**
 * The one boundary where etcd3/gRPC errors become ClusterFlux errors. Every
 * failure of an etcd call means the store could not do what was asked, which
 * the API answers with 503 and `isRecoverable` (shared/recoverable.ts)
 * counts as worth another try; our own errors pass through unchanged.
 */
export function translateEtcdError(err: unknown, action: string): Error {
  if (err instanceof CfluxError) return err;
  return new StoreUnavailableError(`etcd unavailable while trying to ${action}: ${firstLine(messageOf(err))}`, { cause: err });
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? text;
  return line.length > 200 ? line.slice(0, 197) + '...' : line;
}
