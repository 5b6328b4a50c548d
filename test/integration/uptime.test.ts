/** system_uptime comes from heartbeats: minutes in which some instance was up; 100 is never assumed. */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsService } from '../../src/api/analytics.service.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData } from '../helpers/conformance.ts';

describe('system uptime', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    // Up for 720 minutes of 2026-11-10 (UTC), and never before or after: 00:00–12:00 but 00:05.
    const start = Date.parse('2026-11-10T00:00:00Z') / 60_000;
    await sql`insert into heartbeats (minute) select generate_series(${start}::bigint, ${start + 720}::bigint)`.execute(
      t.deps.database.db,
    );
    await sql`delete from heartbeats where minute = ${start + 5}`.execute(t.deps.database.db);
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

  it('counts the whole minutes of today only: the minute under way makes up for no missing one', async () => {
    // 12:00:30: 720 minutes of the day are over, 719 of them with a heartbeat; 12:00 has one too.
    const service = createAnalyticsService({
      db: t.deps.database.db,
      dayZone: () => 'UTC',
      now: () => Date.parse('2026-11-10T12:00:30Z'),
    });
    const day = { from: '2026-11-10', to: '2026-11-10' };
    const { series } = await service.daily({ asOf: '2026-11-10', tz: 'UTC' }, day, 'day');
    expect(series[0]?.system_uptime).toBeCloseTo((100 * 719) / 720, 2);
  });
});
