import fc from 'fast-check';
import { it } from 'vitest';
import { startTestApp } from '../helpers/app.ts';
import { ingestHttp, getData } from '../helpers/conformance.ts';
import { REPORTING_TIMEZONE, renderStream, streamArb } from '../helpers/random-stream.ts';
const env = { REPORTING_TIMEZONE, BASE_CURRENCY: 'USD', ANALYTICS_CACHE_TTL: '0', RATE_LIMIT_ANALYTICS: '1000000' };
it('prof', async () => {
  const t = await startTestApp({ env });
  const plans = fc.sample(streamArb, { numRuns: 3, seed: 20261127 });
  let ns = 0;
  for (const plan of plans) {
    ns++;
    const s = renderStream(plan, ns);
    await ingestHttp(t.app, t.token, s.inOrder);
    const w = s.window;
    const range = `from=${w.from}&to=${w.to}&as_of=${w.asOf}`;
    for (const url of [`/system?as_of=${w.asOf}`, `/events?as_of=${w.asOf}&sort=event_id&order=asc&limit=500`, `/daily?${range}&granularity=day`, `/daily?${range}&granularity=week`, `/daily?${range}&granularity=month`, '/top-events?sort_by=bookings&limit=50', '/capacity', `/revenue?days=30&as_of=${w.asOf}`]) {
      const t0 = performance.now();
      await getData(t.app, t.token, '/api/v1/analytics' + url);
      console.log(url.slice(0, 20), Math.round(performance.now() - t0));
    }
  }
  await t.close();
});
