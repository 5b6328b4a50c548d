/**
 * Every conformance case through the durable transport: the lines are XADDed to a Redis Stream in
 * a shuffled order and consumed by the real stream consumer into PostgreSQL.
 */
import { describe, it } from 'vitest';
import { startTestApp, streamConsumerOf } from '../helpers/app.ts';
import { assertFigures, assertOutcomes, loadCases, shuffled } from '../helpers/conformance.ts';
import { waitFor } from '../helpers/db.ts';

const cases = loadCases();

describe.each(cases)('conformance case $name over the Redis Stream', (c) => {
  it('reports the reference figures when consumed shuffled from the stream', async () => {
    const t = await startTestApp({
      redis: true,
      env: { REPORTING_TIMEZONE: c.config.REPORTING_TIMEZONE, BASE_CURRENCY: c.config.BASE_CURRENCY },
    });
    const redis = t.deps.redis;
    if (!redis) throw new Error('the test needs Redis');
    const consumer = streamConsumerOf(t);
    try {
      const lines = shuffled(c.lines, 3 + c.lines.length);
      for (let i = 0; i < lines.length; i += 500) {
        const pipeline = redis.pipeline();
        for (const line of lines.slice(i, i + 500))
          pipeline.xadd(t.config.streamKey, '*', 'payload', line.raw);
        await pipeline.exec();
      }
      consumer.start();
      await waitFor(
        'every stream entry to be committed',
        async () => {
          const { ingest } = (await t.app.inject({ method: 'GET', url: '/health' })).json<{
            ingest: { processed: number; duplicates: number; ignored: number; rejected: number };
          }>();
          const seen = ingest.processed + ingest.duplicates + ingest.ignored + ingest.rejected;
          return seen === c.lines.length ? true : undefined;
        },
        60_000,
      );
      await assertOutcomes(t.app, c);
      await assertFigures(t.app, t.token, c);
    } finally {
      await consumer.stop();
      await redis.del(t.config.streamKey);
      await t.close();
    }
  });
});
