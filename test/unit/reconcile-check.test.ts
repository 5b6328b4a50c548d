import { describe, expect, it } from 'vitest';
import { reconcileCheck } from '../../src/ingest/reconcile.ts';

describe('reconcileCheck', () => {
  const clean = {
    checked_at: '2026-11-01T00:00:00Z',
    drift: false,
    comparable: true,
    difference_count: 0,
    duration_ms: 12,
  };

  it('says a clean run that came before retention pruned payloads can compare nothing now', () => {
    const check = reconcileCheck({ last: clean, lastVerified: clean }, '2026-11-20T00:00:00Z');
    expect(check).toMatchObject({ status: 'unverifiable', comparable: false, last_verified: clean });
    // That run's time is under last_verified only: no checked_at pretends it was unverifiable.
    expect(check).not.toHaveProperty('checked_at');
  });

  it('shows the time of an unverifiable run made after the pruning', () => {
    const unverifiable = { ...clean, checked_at: '2026-11-21T00:00:00Z', comparable: false };
    const check = reconcileCheck({ last: unverifiable, lastVerified: clean }, '2026-11-20T00:00:00Z');
    expect(check).toMatchObject({
      status: 'unverifiable',
      checked_at: '2026-11-21T00:00:00Z',
      last_verified: clean,
    });
  });

  it('keeps reporting drift found earlier, pruned or not', () => {
    const drift = { ...clean, drift: true, difference_count: 3 };
    expect(reconcileCheck({ last: drift, lastVerified: drift }, '2026-11-20T00:00:00Z')).toMatchObject({
      status: 'drift',
      difference_count: 3,
    });
  });
});
