import { CfluxError } from '../../shared/errors.ts';
import type { Router } from '../../shared/http/router.ts';
import type { NodeView } from '../store/store.ts';
import type { ManagerApiContext } from './api-context.ts';
import { requireOperator } from './manager-auth.ts';
import { nodeToJson, parseHeartbeat, parseNodeId, parseRegistration } from './node-json.ts';

/**
 * Registration, heartbeat, deregistration and node listings. A registration
 * gets a node key (in its 201 answer only); with the agent token, heartbeats
 * and deregistration must present it, so an agent can act only on its own
 * registration. A heartbeat naming another node than the id's record is 404.
 */
export function addNodeRoutes(router: Router, api: ManagerApiContext): void {
  router.add('POST', '/nodes/:cluster', async ({ req, params, principal }) => {
    const cluster = api.clusterName(params['cluster']!);
    const registration = parseRegistration(await api.readJson(req));
    const node = await api.store.registerNode(cluster, registration, api.options.ttl, (previous) => {
      // A live node's name taken from another address would redirect its peers' writes there.
      if (previous?.alive && previous.bindAddress !== registration.bindAddress && principal?.role !== 'operator') {
        throw new CfluxError(
          'FORBIDDEN',
          `node name "${registration.name}" is held by a live node at ${previous.bindAddress} (id ${previous.id}); registering it from ${registration.bindAddress} needs the manager (operator) token, or wait until that node's TTL runs out, or remove it (cflux nodes remove ${previous.id})`,
        );
      }
    });
    api.logger.info({ cluster, id: node.id, name: node.name, bindAddress: node.bindAddress }, 'node registered');
    return { status: 201, body: { ...nodeToJson(node), 'node-key': api.auth.nodeKey(node) } };
  });

  router.add('PUT', '/nodes/:cluster/:id', async ({ req, params, principal }) => {
    const cluster = api.clusterName(params['cluster']!);
    const id = parseNodeId(params['id']!);
    const heartbeat = parseHeartbeat(await api.readJson(req));
    const accept = (node: NodeView) => (heartbeat.name === undefined || heartbeat.name === node.name) && (principal?.role === 'operator' || api.auth.hasNodeKey(req, node));
    const node = await api.store.heartbeatNode(cluster, id, heartbeat.stats, accept);
    if (!node) throw new CfluxError('NOT_FOUND', `node ${id} is not registered in cluster "${cluster}" (unknown, expired, or held by another registration): register again`);
    return { status: 200, body: nodeToJson(node) };
  });

  router.add('DELETE', '/nodes/:cluster/:id', async ({ req, params, principal }) => {
    const cluster = api.clusterName(params['cluster']!);
    const id = parseNodeId(params['id']!);
    const node = (await api.store.listNodes(cluster)).find((candidate) => candidate.id === id);
    if (!node) throw new CfluxError('NOT_FOUND', `node ${id} is not registered in cluster "${cluster}"`);
    if (!api.auth.hasNodeKey(req, node)) requireOperator(principal, `removing node ${id} (${node.name}) without its node key`);
    if (!(await api.store.deregisterNode(cluster, id))) throw new CfluxError('NOT_FOUND', `node ${id} is not registered in cluster "${cluster}"`);
    api.logger.info({ cluster, id, name: node.name }, 'node deregistered');
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
