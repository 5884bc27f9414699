import type { InfluxRequest } from '../influxd/influx-request.ts';

/**
 * InfluxDB 1.8's compatibility write API, for today's v2 client libraries
 * (`POST /api/v2/write?bucket=db/rp&precision=s` with `Authorization: Token
 * user:password`), translated for the 1.6 influxd behind the proxy as 1.8's
 * own handler does (services/httpd/handler.go, serveWriteV2): the bucket is
 * `database[/retention-policy]`, precision ns/us/ms/s, `org` ignored. The
 * write then takes the same path as `/write` (placement, consistency, errors).
 */
export function v2WriteRequest(request: InfluxRequest): InfluxRequest | { status: number; error: string } {
  const given = request.params.get('precision') ?? '';
  const precision = { ns: 'n', us: 'u', ms: 'ms', s: 's', '': '' }[given];
  if (precision === undefined) return { status: 400, error: `invalid precision "${given}" (use ns, us, ms or s)` };
  const bucket = request.params.get('bucket') ?? '';
  const slash = bucket.indexOf('/');
  const database = slash < 0 ? bucket : bucket.slice(0, slash);
  const retentionPolicy = slash < 0 ? '' : bucket.slice(slash + 1);
  if (database === '') {
    return { status: 404, error: slash < 0 ? `bucket name "${bucket}" is missing a slash; not in "database/retention-policy" format` : `bucket name "${bucket}" is in db/rp form but has an empty database` };
  }
  const params = new URLSearchParams({ db: database });
  if (retentionPolicy !== '') params.set('rp', retentionPolicy);
  if (precision !== '') params.set('precision', precision);
  const consistency = request.params.get('consistency');
  if (consistency !== null) params.set('consistency', consistency);
  const forwardHeaders = { ...request.forwardHeaders };
  const token = /^Token (.*)$/s.exec(forwardHeaders['authorization'] ?? '')?.[1];
  const colon = token?.indexOf(':') ?? -1;
  // `Token user:password` is a user's credentials (1.8's parseToken); anything else after Token is none.
  if (token !== undefined) {
    if (colon > 0) forwardHeaders['authorization'] = `Basic ${Buffer.from(token).toString('base64')}`;
    else delete forwardHeaders['authorization'];
  }
  return { ...request, path: '/write', params, forwardHeaders };
}

/** What the proxy answers for the v2 API beyond writes: Flux cannot run on influxd 1.6. */
export const V2_QUERY_REFUSAL = 'Flux queries are not supported: ClusterFlux serves InfluxDB 1.6, which has no Flux; query with InfluxQL on /query';
