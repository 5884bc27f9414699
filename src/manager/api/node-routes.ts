import { CfluxError } from '../../shared/errors.ts';
import type { Router } from '../../shared/http/router.ts';
import type { ManagerApiContext } from './api-context.ts';
import { nodeToJson, parseHeartbeat, parseNodeId, parseRegistration } from './node-json.ts';

/** Registration, heartbeat, deregistration and node listings. */
export function addNodeRoutes(router: Router, api: ManagerApiContext): void {
  router.add('POST', '/nodes/:cluster', async ({ req, params }) => {
    const cluster = api.clusterName(params['cluster']!);
    const registration = parseRegistration(await api.readJson(req));
    const node = await api.store.registerNode(cluster, registration, api.options.ttl);
    api.logger.info({ cluster, id: node.id, name: node.name, bindAddress: node.bindAddress }, 'node registered');
    return { status: 201, body: nodeToJson(node) };
  });

  router.add('PUT', '/nodes/:cluster/:id', async ({ req, params }) => {
    const cluster = api.clusterName(params['cluster']!);
    const id = parseNodeId(params['id']!);
    const stats = parseHeartbeat(await api.readJson(req));
    const node = await api.store.heartbeatNode(cluster, id, stats);
    if (!node) throw new CfluxError('NOT_FOUND', `node ${id} is not registered in cluster "${cluster}" (unknown or expired): register again`);
    return { status: 200, body: nodeToJson(node) };
  });

  router.add('DELETE', '/nodes/:cluster/:id', async ({ params }) => {
    const cluster = api.clusterName(params['cluster']!);
    const id = parseNodeId(params['id']!);
    if (!(await api.store.deregisterNode(cluster, id))) {
      throw new CfluxError('NOT_FOUND', `node ${id} is not registered in cluster "${cluster}"`);
    }
    api.logger.info({ cluster, id }, 'node deregistered');
    return { status: 204 };
  });

  router.add('GET', '/nodes', async () => {
    const [managers, nodes] = await Promise.all([api.store.listManagers(), api.store.listNodes()]);
    return { status: 200, body: { cflux: managers, influx: nodes.map(nodeToJson) } };
  });

  router.add('GET', '/nodes/:cluster', async ({ params }) => {
    const cluster = api.clusterName(params['cluster']!);
    return { status: 200, body: (await api.store.listNodes(cluster)).map(nodeToJson) };
  });
}
