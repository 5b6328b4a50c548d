/**
 * Raw Redis stream replies → plain values. ioredis shapes them differently per protocol and reply
 * mapping (RESP2 `[[key, entries]]`, RESP3 legacy `[key, entries]`, RESP3 mapped `{key: entries}`),
 * so the consumer reads them through these functions and works with any client options.
 */

export interface StreamEntry {
  id: string;
  /** null: the entry was deleted (XDEL/XTRIM) while it was pending. */
  fields: Map<string, string> | null;
}

function toFields(raw: unknown): Map<string, string> | null {
  if (raw === null || raw === undefined) return null;
  const fields = new Map<string, string>();
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) fields.set(String(raw[i]), String(raw[i + 1]));
  } else if (typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) fields.set(k, String(v));
  }
  return fields;
}

function toEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((e): e is unknown[] => Array.isArray(e))
    .map((e) => ({ id: String(e[0]), fields: toFields(e[1]) }));
}

/**
 * The message text of an entry: its `payload` field. An entry without one is still a message to
 * keep: its text then says so and carries the entry's id and every field it had, so the dead letter
 * (not JSON: invalid_json) lets an operator find the entry and re-publish what it held.
 */
export function entryText(key: string, id: string, fields: ReadonlyMap<string, string>): string {
  const payload = fields.get('payload');
  if (payload !== undefined) return payload;
  return `stream ${key} entry ${id} has no "payload" field; its fields: ${JSON.stringify(Object.fromEntries(fields))}`;
}

/** The entries of an XREADGROUP reply that names a single stream. */
export function readEntries(reply: unknown): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  if (!Array.isArray(reply)) return toEntries(Object.values(reply as Record<string, unknown>)[0]);
  if (reply.length === 0) return [];
  if (typeof reply[0] === 'string') return toEntries(reply[1]);
  const first = reply[0] as unknown;
  return Array.isArray(first) ? toEntries(first[1]) : [];
}

/** XAUTOCLAIM → the cursor for the next call ('0-0' once the whole PEL was scanned) and the claimed entries. */
export function claimedEntries(reply: unknown): { next: string; entries: StreamEntry[] } {
  if (!Array.isArray(reply)) return { next: '0-0', entries: [] };
  return { next: String(reply[0] ?? '0-0'), entries: toEntries(reply[1]) };
}

/** The `pending` and `lag` fields of one group in an XINFO GROUPS reply. */
export function groupInfo(
  reply: unknown,
  group: string,
): { pending: number; lag: number | null } | undefined {
  const info = allGroups(reply).find((g) => g.name === group);
  return info && { pending: info.pending, lag: info.lag };
}

/** Every group of an XINFO GROUPS reply: its name, pending count, lag and the last id it was given. */
export function allGroups(
  reply: unknown,
): { name: string; pending: number; lag: number | null; lastDelivered: string }[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((raw) => {
    const info = Array.isArray(raw) ? toFields(raw) : toFields(raw as object);
    const name = info?.get('name');
    if (!info || name === undefined) return [];
    const lag = info.get('lag');
    return [
      {
        name,
        pending: Number(info.get('pending') ?? 0),
        lag: lag === undefined || lag === 'null' || lag === '' ? null : Number(lag),
        lastDelivered: info.get('last-delivered-id') ?? '0-0',
      },
    ];
  });
}

/** The consumers of an XINFO CONSUMERS reply: name, entries pending, ms since last seen. */
export function allConsumers(reply: unknown): { name: string; pending: number; idleMs: number }[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((raw) => {
    const info = Array.isArray(raw) ? toFields(raw) : toFields(raw as object);
    const name = info?.get('name');
    if (!info || name === undefined) return [];
    return [{ name, pending: Number(info.get('pending') ?? 0), idleMs: Number(info.get('idle') ?? 0) }];
  });
}

/** The smallest pending id of an XPENDING summary reply (`[count, smallest, greatest, consumers]`). */
export function smallestPending(reply: unknown): string | undefined {
  if (!Array.isArray(reply) || Number(reply[0] ?? 0) === 0) return undefined;
  return reply[1] === null || reply[1] === undefined ? undefined : String(reply[1]);
}

/** Stream ids (`ms-seq`) compared as the stream orders them. */
export function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map((part) => BigInt(part));
  const [bm = 0n, bs = 0n] = b.split('-').map((part) => BigInt(part));
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** Characters an entry holds (its fields' names and values): what a read of it costs in memory. */
export function entryCharacters(entry: StreamEntry): number {
  let n = 0;
  for (const [k, v] of entry.fields ?? []) n += k.length + v.length;
  return n;
}

/**
 * The COUNT of the next read: reads aim at `budget` characters at the last read's average entry
 * size, so a backlog of big entries is taken a few at a time, while small ones grow it (doubling on
 * each full read) up to `max`.
 */
export function nextReadCount(
  current: number,
  max: number,
  read: { entries: number; characters: number },
  budget: number,
): number {
  const fits = read.characters > 0 ? Math.floor((read.entries * budget) / read.characters) : max;
  const wanted = read.entries >= current ? current * 2 : current;
  return Math.max(1, Math.min(max, fits, wanted));
}
