import type { Router } from '../../shared/http/router.ts';
import { messageOf } from '../../shared/errors.ts';
import type { RepairService } from './repair-service.ts';

/**
 * `POST /peer/v1/repair?database=&measurement=&dry-run=true` on the peer
 * port (peer token): runs a repair pass now and streams its progress as JSON
 * lines (`{"progress": {...}}` ... then `{"done": {...}}` or `{"error": "..."}`),
 * which `cflux repair` shows. The pass stops when the caller goes away.
 */
export function addRepairRoute(router: Router, repair: () => RepairService | undefined): void {
  router.add('POST', '/peer/v1/repair', async ({ res, query, signal }) => {
    const service = repair();
    if (!service) return { status: 503, body: { error: 'repair is not ready yet: the agent is starting' } };
    const filter = { ...(query.get('database') ? { database: query.get('database')! } : {}), ...(query.get('measurement') ? { measurement: query.get('measurement')! } : {}) };
    const dryRun = query.get('dry-run') === 'true';
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let last = 0;
    try {
      const done = await service.run(filter, {
        dryRun,
        signal,
        onProgress: (progress) => {
          // At most a few lines a second: a progress bar, not a log.
          if (performance.now() - last < 200 && progress.unitsDone < progress.unitsTotal) return;
          last = performance.now();
          res.write(JSON.stringify({ progress }) + '\n');
        },
      });
      res.end(JSON.stringify({ done: { ...done, dryRun } }) + '\n');
    } catch (err) {
      res.end(JSON.stringify({ error: messageOf(err) }) + '\n');
    }
    return { status: 0, handled: true };
  });
}
