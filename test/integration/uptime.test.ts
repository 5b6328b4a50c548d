/** system_uptime comes from heartbeats: minutes in which some instance was up; 100 is never assumed. */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData } from '../helpers/conformance.ts';

describe('system uptime', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    // Up for the first 12 hours of 2026-11-10 (UTC), and never before or after.
    const start = Date.parse('2026-11-10T00:00:00Z') / 60_000;
    await sql`insert into heartbeats (minute) select generate_series(${start}::bigint, ${start + 719}::bigint)`.execute(
      t.deps.database.db,
    );
  });
  afterAll(async () => t.close());

  it('reports each day the share of its minutes with a heartbeat', async () => {
    const data = await getData(t.app, t.token, '/api/v1/analytics/daily?from=2026-11-09&to=2026-11-11');
    const uptime = (data.series as { date: string; system_uptime: number | null }[]).map(
      (d) => d.system_uptime,
    );
    expect(uptime).toEqual([0, 50, 0]);
  });

  it('reports the window as minutes up over minutes elapsed', async () => {
    const system = await getData(t.app, t.token, '/api/v1/analytics/system?as_of=2026-11-10');
    expect(system.system_uptime).toBeCloseTo((100 * 720) / (30 * 1440), 2);
  });

  it('buckets heartbeats in the requested zone', async () => {
    const data = await getData(
      t.app,
      t.token,
      '/api/v1/analytics/daily?from=2026-11-09&to=2026-11-10&tz=Asia/Kolkata',
    );
    const uptime = (data.series as { system_uptime: number | null }[]).map((d) => d.system_uptime);
    // 00:00–12:00 UTC is 05:30–17:30 in Kolkata: all of it on 2026-11-10 local.
    expect(uptime).toEqual([0, 50]);
  });
});
