/**
 * Every conformance case through the real pipeline and real stores: HTTP ingest in file order and
 * shuffled on PostgreSQL, and shuffled on embedded PGlite, there read per request in the case's zone
 * (`tz=`) from an app that keeps its day tables in another. (The Redis Stream transport runs
 * the cases in conformance-stream.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers/app.ts';
import {
  assertFigures,
  assertOutcomes,
  finalRejections,
  ingestHttp,
  loadCases,
  shuffled,
} from '../helpers/conformance.ts';

const cases = loadCases();

describe.each(cases)('conformance case $name', (c) => {
  const env = { REPORTING_TIMEZONE: c.config.REPORTING_TIMEZONE, BASE_CURRENCY: c.config.BASE_CURRENCY };
  const raws = c.lines.map((l) => l.raw);

  it('reports the reference figures after HTTP ingest in file order (PostgreSQL)', async () => {
    const t = await startTestApp({ env });
    try {
      const answers = await ingestHttp(t.app, t.token, raws);
      expect(await finalRejections(t.app, t.token, raws, answers)).toEqual(c.expected.rejections);
      await assertOutcomes(t.app, c);
      await assertFigures(t.app, t.token, c);
    } finally {
      await t.close();
    }
  });

  it('reports the same figures when the stream arrives shuffled and in small batches (PostgreSQL)', async () => {
    const t = await startTestApp({ env });
    try {
      await ingestHttp(t.app, t.token, shuffled(raws, 7 + c.lines.length), 97);
      await assertOutcomes(t.app, c);
      await assertFigures(t.app, t.token, c);
    } finally {
      await t.close();
    }
  });

  it('reports the reference figures on the embedded PGlite store, read with tz= from another reporting zone', async () => {
    // The day tables are kept in another zone, so every figure by day comes from the quarter-hour
    // buckets, with the case's zone given per request.
    const other = c.config.REPORTING_TIMEZONE === 'UTC' ? 'Pacific/Chatham' : 'UTC';
    const t = await startTestApp({ env: { ...env, REPORTING_TIMEZONE: other }, store: 'pglite' });
    try {
      await ingestHttp(t.app, t.token, shuffled(raws, 11));
      await assertOutcomes(t.app, c);
      await assertFigures(t.app, t.token, c, { inZone: true });
    } finally {
      await t.close();
    }
  });
});
