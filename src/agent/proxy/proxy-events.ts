/**
 * What the client-facing proxy reports about its work (agent-metrics.ts
 * turns it into Prometheus metrics). Labels come from fixed sets, whatever
 * clients send, so that no client can grow the number of series.
 */

/** The routes requests are counted by. */
export const PROXY_ROUTES = ['write', 'query', 'ping', 'health', 'api_v2_write', 'other'] as const;
export type ProxyRoute = (typeof PROXY_ROUTES)[number];

const ROUTE_BY_PATH: ReadonlyMap<string, ProxyRoute> = new Map([
  ['/write', 'write'],
  ['/query', 'query'],
  ['/ping', 'ping'],
  ['/health', 'health'],
  ['/api/v2/write', 'api_v2_write'],
]);

/** The route of a request path (without its query string). */
export function proxyRouteOf(path: string): ProxyRoute {
  return ROUTE_BY_PATH.get(path) ?? 'other';
}

const COUNTED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/** The method as a label: one of the usual ones, else `other`. */
export function methodLabel(method: string): string {
  return COUNTED_METHODS.has(method) ? method : 'other';
}

/** The status counted for a request whose client left before an answer was sent (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;

export interface ProxyEvents {
  /** A request was answered (or its client left: CLIENT_CLOSED_STATUS), after `seconds`. */
  answered(route: ProxyRoute, method: string, status: number, seconds: number): void;
  /**
   * A write's line protocol went to its owners: its points (lines) and
   * bytes, counted once per write whatever the replication factor.
   */
  written(points: number, bytes: number): void;
  /**
   * A write body was relayed untouched to the local influxd, its only owner:
   * its bytes as the client sent them (compressed, if it was). Its points
   * are not counted: that would mean parsing what this path exists to relay
   * unparsed. `fastPath`: relayed on the raw-socket fast path.
   */
  relayed(bytes: number, fastPath: boolean): void;
  /** A query was relayed byte for byte on the raw-socket fast path, to the local influxd or to the peer that answers it. */
  relayedQuery(to: 'local' | 'peer'): void;
}
