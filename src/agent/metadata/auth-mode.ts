/**
 * One influxd authentication mode per cluster. A node whose influxd has
 * auth off in a cluster that has it on would let anyone in through its
 * proxy (an anonymous CREATE USER ... WITH ALL PRIVILEGES there becomes
 * cluster metadata, and an admin on every other node); the reverse would
 * refuse what the rest of the cluster accepts. Such a node is not ready and
 * its proxy and peer API refuse requests until the modes agree.
 *
 * Returns why this node may not serve, or undefined when the modes agree or
 * one of them is not known yet.
 */
export function authModeMismatch(cluster: boolean | undefined, local: boolean | undefined): string | undefined {
  if (cluster === undefined || local === undefined || cluster === local) return undefined;
  return cluster
    ? "this node's influxd has authentication off while the cluster's influxd have it on (settings.influxdAuth): enable it ([http] auth-enabled = true) before this node serves"
    : "this node's influxd has authentication on while the cluster's influxd have it off (settings.influxdAuth): turn it off here, or on everywhere and set settings.influxdAuth to true";
}
