import { checkClusterDocument } from '../../cluster/document-check.ts';
import { clusterOverview, type ClusterOverview, type NodeRecordJson } from '../../cluster/cluster-overview.ts';
import type { Router } from '../../shared/http/router.ts';
import type { ManagerApiContext } from '../api/api-context.ts';
import { requireOperator } from '../api/manager-auth.ts';
import { nodeToJson } from '../api/node-json.ts';
import { renderStatusPage } from './status-page.ts';

/**
 * The operator's overview: `GET /` (the status page; a browser signs in with
 * HTTP Basic, any user name, the manager token as password) and `GET
 * /clusters/:cluster/overview` (the same as JSON, for `cflux status`). The
 * operator token only: the page names every node and address.
 */
export function addStatusRoutes(router: Router, api: ManagerApiContext): void {
  router.add('GET', '/', async ({ principal }) => {
    requireOperator(principal, 'the status page');
    const clusters = [...new Set((await api.store.listNodes()).map((node) => node.cluster))].sort();
    const overviews = await Promise.all(clusters.map((cluster) => overviewOf(api, cluster)));
    // No script runs on the page, nothing is loaded from elsewhere, and no other site may frame it.
    const headers = { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'", 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
    return { status: 200, text: renderStatusPage(overviews), contentType: 'text/html; charset=utf-8', headers };
  });
  router.add('GET', '/clusters/:cluster/overview', async ({ params, principal }) => {
    requireOperator(principal, 'the cluster overview');
    return { status: 200, body: await overviewOf(api, api.clusterName(params['cluster']!)) };
  });
}

async function overviewOf(api: ManagerApiContext, cluster: string): Promise<ClusterOverview> {
  const [nodes, document, history] = await Promise.all([api.store.listNodes(cluster), api.store.readMetadata(cluster), api.store.metadataHistory(cluster)]);
  // A document that does not pass the schema check is shown as none (its problems are the agents' to report).
  const checked = document.metadata === null ? undefined : checkClusterDocument(document.metadata);
  return clusterOverview({
    cluster,
    document: { version: document.version, metadata: checked?.ok ? checked.metadata : null },
    nodes: nodes.map((node) => nodeToJson(node) as unknown as NodeRecordJson),
    history,
  });
}
