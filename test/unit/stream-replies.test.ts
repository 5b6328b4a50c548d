import { describe, expect, it } from 'vitest';
import { allGroups, compareIds, smallestPending } from '../../src/ingest/stream-replies.ts';

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
});
