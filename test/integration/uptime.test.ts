/** system_uptime comes from heartbeats: minutes in which some instance was up; 100 is never assumed. */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsService } from '../../src/api/analytics.service.ts';
import { recordHeartbeat } from '../../src/store/uptime.repository.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData } from '../helpers/conformance.ts';
import { mulberry32 } from '../support/seeded-random.ts';

describe('system uptime', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    // Up for 720 minutes of 2026-11-10 (UTC), and never before or after: 00:00–12:00 but 00:05.
    // Recorded out of order and twice each (two instances), as heartbeats may arrive.
    const start = Date.parse('2026-11-10T00:00:00Z') / 60_000;
    const minutes = Array.from({ length: 721 }, (_, i) => start + i).filter((m) => m !== start + 5);
    const random = mulberry32(11);
    const order = [...minutes, ...minutes].sort(() => random() - 0.5);
    for (const minute of order) await recordHeartbeat(t.deps.database.db, minute);
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

  it('keeps the minutes as runs, one per stretch up, whatever the order they were recorded in', async () => {
    const start = Date.parse('2026-11-10T00:00:00Z') / 60_000;
    const { rows } = await sql<{ start: number; end: number }>`
      select start_minute::float8 as start, end_minute::float8 as "end" from uptime_runs order by 1`.execute(
      t.deps.database.db,
    );
    // 00:00–00:05 and 00:06–12:00 (inclusive): the minute 00:05 was down.
    expect(rows).toEqual([
      { start, end: start + 5 },
      { start: start + 6, end: start + 721 },
    ]);
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
