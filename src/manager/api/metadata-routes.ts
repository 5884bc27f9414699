import { CfluxError } from '../../shared/errors.ts';
import type { Router } from '../../shared/http/router.ts';
import type { ManagerApiContext } from './api-context.ts';
import { checkClusterDocument } from '../../cluster/document-check.ts';
import { continuousQueryProblem } from '../../influxql/continuous-query-check.ts';
import type { ClusterMetadata } from '../../cluster/cluster-metadata.ts';
import { RESTORE_HEADER } from '../../cluster/document-update.ts';

function parseVersion(segment: string): number {
  const version = /^\d{1,15}$/.test(segment) ? Number(segment) : NaN;
  if (!Number.isSafeInteger(version)) throw new CfluxError('BAD_REQUEST', `version "${segment}" must be a whole number >= 0`);
  return version;
}

/** Long-poll wait in ms: the poll timeout, or `?timeout=` seconds when shorter. */
function pollTimeoutOf(query: URLSearchParams, maxMs: number): number {
  const raw = query.get('timeout');
  if (raw === null) return maxMs;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new CfluxError('BAD_REQUEST', `timeout "${raw}" must be a number of seconds >= 0`);
  return Math.min(Math.round(Number(raw) * 1000), maxMs);
}

/**
 * A new version wakes every long-poll with the same object: it is serialized
 * once and the bytes shared (10,000 answers of a large document each
 * stringified and UTF-8 encoded blocked the event loop for most of a second).
 */
const serialized = new WeakMap<object, Buffer>();
function jsonBytesOf(value: object): Buffer {
  let bytes = serialized.get(value);
  if (!bytes) {
    bytes = Buffer.from(JSON.stringify(value));
    serialized.set(value, bytes);
  }
  return bytes;
}

/** The versioned metadata document: long-poll read, CAS write, history. */
export function addMetadataRoutes(router: Router, api: ManagerApiContext): void {
  router.add('GET', '/clusters/:cluster/versions/:version', async ({ params, query, signal }) => {
    const cluster = api.clusterName(params['cluster']!);
    const known = parseVersion(params['version']!);
    const timeoutMs = pollTimeoutOf(query, api.options.pollTimeout);
    const changed = await api.hub.waitForChange(cluster, known, timeoutMs, signal);
    return changed ? { status: 200, text: jsonBytesOf(changed), contentType: 'application/json' } : { status: 204 };
  });

  router.add('POST', '/clusters/:cluster/versions/:version', async ({ req, params }) => {
    const cluster = api.clusterName(params['cluster']!);
    const base = parseVersion(params['version']!);
    const document = await api.readJson(req);
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new CfluxError('BAD_REQUEST', 'the body must be the whole metadata document, a JSON object');
    }
    // Agents check every document too (etcd may be written by other means); refusing here tells the writer at once.
    const check = checkClusterDocument(document, continuousQueryProblem);
    if (!check.ok) throw new CfluxError('BAD_REQUEST', `invalid cluster document at ${check.field || '(the document)'}: ${check.error}`);
    if (api.restoreWindow) {
      const current = await api.store.readMetadata(cluster);
      const verdict = api.restoreWindow.judge(cluster, current.metadata as ClusterMetadata | null, document as ClusterMetadata, req.headers[RESTORE_HEADER] === '1');
      if (!verdict.accept) {
        const seconds = Math.ceil(verdict.retryAfterMs / 1000);
        return {
          status: 423,
          headers: { 'retry-after': String(seconds) },
          body: {
            error: `cluster "${cluster}": this manager keeps metadata in memory and started without it; the agents are restoring the cluster document, and changes are taken again in ${seconds} s (so none is written on an older document and lost)`,
            'retry-after-ms': Math.ceil(verdict.retryAfterMs),
          },
        };
      }
    }
    const result = await api.store.writeMetadata(cluster, base, document as Record<string, unknown>);
    if (result.ok) {
      api.logger.info({ cluster, version: result.version }, 'metadata written');
      return { status: 200, body: { version: result.version } };
    }
    api.metrics.casConflicts.inc();
    return { status: 409, body: result.current };
  });

  // Not in the seed: the current document without waiting (for `cflux meta get`).
  router.add('GET', '/clusters/:cluster', async ({ params }) => {
    const cluster = api.clusterName(params['cluster']!);
    return { status: 200, body: await api.store.readMetadata(cluster) };
  });

  router.add('GET', '/clusters/:cluster/history', async ({ params }) => {
    const cluster = api.clusterName(params['cluster']!);
    return { status: 200, body: await api.store.metadataHistory(cluster) };
  });
}
