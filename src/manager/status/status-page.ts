import type { ClusterOverview, NodeOverview } from '../../cluster/cluster-overview.ts';
import { formatAge, formatBytes as bytes } from '../../shared/text-format.ts';

/** Seconds between the page's own reloads. */
export const STATUS_REFRESH_SECONDS = 5;

/**
 * The manager's status page (`GET /`): every cluster's nodes, data, queues,
 * moves, metadata versions and recent problems, rendered on the server from
 * the same overview `cflux status` prints (nothing to build, no script: the
 * page reloads itself). Every value from agents is escaped.
 */
export function renderStatusPage(overviews: readonly ClusterOverview[], now = Date.now()): string {
  const clusters = overviews.length === 0 ? '<p class="empty">No cluster has registered a node yet: start an agent (<code>cflux agent</code>).</p>' : overviews.map((overview) => renderCluster(overview, now)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${STATUS_REFRESH_SECONDS}">
<title>ClusterFlux status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2329; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; margin: .3em 0; } th, td { border: 1px solid #d5dae0; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f1f3f5; } .up { color: #147a2e; font-weight: 600; } .down { color: #b3261e; font-weight: 600; } .muted { color: #6b7682; }
.bar { background: #e3e7eb; width: 16em; height: .8em; display: inline-block; } .bar span { background: #2f6fdf; height: 100%; display: block; }
code { background: #f1f3f5; padding: 0 .25em; }
</style>
</head>
<body>
<h1>ClusterFlux status</h1>
<p class="muted">Generated ${escape(new Date(now).toISOString())}; reloads every ${STATUS_REFRESH_SECONDS} s.</p>
${clusters}
</body>
</html>
`;
}

function renderCluster(overview: ClusterOverview, now: number): string {
  const alive = overview.nodes.filter((node) => node.alive).length;
  const parts = [
    `<section class="cluster" data-cluster="${escape(overview.cluster)}">`,
    `<h2>Cluster <code>${escape(overview.cluster)}</code>: ${alive} of ${overview.nodes.length} nodes alive</h2>`,
    `<p>Metadata version ${overview.version} (revision ${overview.revision}); ${overview.databases.length} databases${overview.databases.length > 0 ? ` (${overview.databases.map(escape).join(', ')})` : ''}; ${overview.users} users; replication factor ${overview.replicationFactor}; data members: ${overview.dataMembers.map(escape).join(', ') || 'none yet'}.</p>`,
    '<h3>Nodes</h3>',
    table(
      ['Node', 'Id', 'Alive', 'Ready', 'Data member', 'Agent', 'influxd', 'Proxy', 'Peer', 'CPU', 'Memory', 'Units', 'Disk', 'Points written', 'Metadata rev', 'Last heartbeat'],
      overview.nodes.map((node) => nodeRow(node, now)),
    ),
  ];
  if (overview.move) {
    const move = overview.move;
    const share = move.units === 0 ? 0 : Math.round((move.unitsDone / move.units) * 100);
    parts.push('<h3>Move in flight</h3>', `<p>Move <code>${escape(move.id)}</code> (${escape(move.kind)}) to ${move.target.map(escape).join(', ')}, started ${escape(move.startedAt)}: ${escape(move.phase)}, ${move.unitsDone} of ${move.units} units, ${move.points.toLocaleString('en-US')} points copied <span class="bar"><span style="width:${share}%"></span></span></p>`);
  }
  parts.push('<h3>Hinted-handoff queues</h3>');
  parts.push(overview.queues.length === 0 ? '<p class="muted">Every queue is empty: all replicas have what was written.</p>' : table(['From', 'For', 'Batches', 'Bytes', 'Oldest'], overview.queues.map((queue) => [escape(queue.from), escape(queue.to), String(queue.records), bytes(queue.bytes), queue.oldestAgeMs === undefined ? '-' : `${Math.round(queue.oldestAgeMs / 1000)} s`])));
  const problems = overview.nodes.flatMap((node) => node.problems.map((problem) => [escape(node.name), escape(problem)]));
  parts.push('<h3>Recent problems</h3>', problems.length === 0 ? '<p class="muted">None reported.</p>' : table(['Node', 'What'], problems));
  parts.push('<h3>Metadata history</h3>', table(['Version', 'Written at', 'Bytes'], overview.history.map((entry) => [String(entry.version), escape(entry.writtenAt), String(entry.bytes)])));
  parts.push('</section>');
  return parts.join('\n');
}

function nodeRow(node: NodeOverview, now: number): string[] {
  const ready = !node.alive || node.ready === undefined ? '<span class="muted">-</span>' : node.ready ? '<span class="up">yes</span>' : `<span class="down" title="${escape(node.problems.join('; '))}">no</span>`;
  return [
    `<b>${escape(node.name)}</b>`,
    String(node.id),
    node.alive ? '<span class="up node-alive">up</span>' : '<span class="down node-down">down</span>',
    ready,
    node.dataMember ? 'yes' : 'no',
    escape(node.agentVersion),
    escape(node.influxdVersion ?? '-'),
    escape(node.proxyAddress || '-'),
    escape(node.peerAddress),
    node.cpuPercent === undefined ? '-' : `${node.cpuPercent}%`,
    node.memoryUsedBytes === undefined ? '-' : bytes(node.memoryUsedBytes),
    node.units === undefined ? '-' : String(node.units),
    node.diskBytes === undefined ? '-' : bytes(node.diskBytes),
    node.pointsWritten === undefined ? '-' : node.pointsWritten.toLocaleString('en-US'),
    node.metadataRevision === undefined ? '-' : String(node.metadataRevision),
    `${escape(node.lastHeartbeat)} <span class="muted">(${formatAge(node.lastHeartbeat, now)})</span>`,
  ];
}

function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((title) => `<th>${escape(title)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
