import { describe, expect, it } from 'vitest';
import { byteBoundParts, MAX_BATCH_CHARACTERS } from '../../src/ingest/batch.ts';
import { allGroups, compareIds, nextReadCount, smallestPending } from '../../src/ingest/stream-replies.ts';

describe('stream replies', () => {
  it('orders stream ids as the stream does, not as text', () => {
    expect(compareIds('999-1', '1700000000000-0')).toBe(-1);
    expect(compareIds('1700000000000-10', '1700000000000-9')).toBe(1);
    expect(compareIds('5-0', '5-0')).toBe(0);
  });

  it('reads every group of XINFO GROUPS, in either reply shape, and the smallest pending id', () => {
    const resp2 = [
      ['name', 'analytics', 'consumers', 1, 'pending', 0, 'last-delivered-id', '10-0'],
      ['name', 'other', 'consumers', 1, 'pending', 2, 'last-delivered-id', '7-0'],
    ];
    const resp3 = [{ name: 'analytics', pending: 0, 'last-delivered-id': '10-0' }];
    expect(allGroups(resp2)).toEqual([
      { name: 'analytics', pending: 0, lag: null, lastDelivered: '10-0' },
      { name: 'other', pending: 2, lag: null, lastDelivered: '7-0' },
    ]);
    expect(allGroups(resp3)).toEqual([{ name: 'analytics', pending: 0, lag: null, lastDelivered: '10-0' }]);
    expect(allGroups([['name', 'g', 'pending', 1, 'last-delivered-id', '3-0', 'lag', 4]])[0]?.lag).toBe(4);
    expect(smallestPending([2, '3-0', '7-0', [['o1', '2']]])).toBe('3-0');
    expect(smallestPending([0, null, null, null])).toBeUndefined();
  });

  it('sizes each read by what the last one held: big entries a few at a time, small ones up to the batch', () => {
    const MB = 1_048_576;
    const budget = 16 * MB;
    // Small entries: each full read doubles the next, up to the batch size; a partial one keeps it.
    let count = 100;
    const seen: number[] = [];
    while (count < 5_000) {
      count = nextReadCount(count, 5_000, { entries: count, characters: count * 300 }, budget);
      seen.push(count);
    }
    expect(seen).toEqual([200, 400, 800, 1_600, 3_200, 5_000]);
    expect(nextReadCount(5_000, 5_000, { entries: 12, characters: 3_600 }, budget)).toBe(5_000);
    // A backlog of 500 KB entries: the next read takes what fits in the budget, and stays there.
    count = nextReadCount(100, 5_000, { entries: 100, characters: 100 * 500_000 }, budget);
    expect(count).toBe(Math.floor((16 * MB) / 500_000));
    expect(nextReadCount(count, 5_000, { entries: count, characters: count * 500_000 }, budget)).toBe(count);
    // One entry over the budget on its own is still read, one at a time.
    expect(nextReadCount(33, 5_000, { entries: 2, characters: 40 * MB }, budget)).toBe(1);
    expect(nextReadCount(1, 5_000, { entries: 1, characters: 20 * MB }, budget)).toBe(1);
    // Nothing read (a quiet stream): as it was.
    expect(nextReadCount(800, 5_000, { entries: 0, characters: 0 }, budget)).toBe(800);
  });

  it('cuts a batch of big messages into parts within the budget, in order, none empty', () => {
    const big = { raw: 'x'.repeat(3 * 1_048_576) };
    const small = { raw: '{}' };
    expect(byteBoundParts([small, small, small])).toEqual([3]);
    expect(byteBoundParts([])).toEqual([0]);
    // 8 MiB: two 3 MiB messages (and a small one) a part; a third starts the next.
    expect(MAX_BATCH_CHARACTERS).toBe(8 * 1_048_576);
    expect(byteBoundParts([big, big, big, small, big, big])).toEqual([2, 5, 6]);
    // A message over the budget alone is a part of its own.
    const huge = { raw: 'x'.repeat(9 * 1_048_576) };
    expect(byteBoundParts([small, huge, small])).toEqual([1, 2, 3]);
  });
});
