/**
 * Hostile parameter values for the attack suite, the analytics routes to aim them at (read from
 * the OpenAPI document), and the weaknesses already known and reported.
 */
import type { FastifyInstance } from 'fastify';

const API = '/api/v1/analytics';

/** Values that have broken query builders, parsers and drivers somewhere. */
export const HOSTILE_VALUES = [
  "' OR '1'='1",
  "1' OR 1=1 --",
  '1; DROP TABLE event_stats; --',
  "x' UNION SELECT current_user, version() --",
  "'; SELECT pg_sleep(10); --",
  '\\',
  '"',
  '%',
  '_',
  '\u0000',
  '😀',
  '<script>alert(1)</script>',
  '${7*7}',
  '../../../../etc/hosts',
  '-1',
  '1.5',
  '1e309',
  'NaN',
  '99999999999999999999',
  '2026-02-30',
  '0000-00-00',
  'Europe/Nowhere',
  'x'.repeat(10_000),
];

/**
 * Weaknesses found by this suite and not fixed yet (none at present). Each entry must still
 * reproduce in its test: once it is fixed the suite fails until the entry is removed, so this list
 * cannot go stale.
 */
export const KNOWN_WEAKNESSES: { where: 'query' | 'path'; reproduces: RegExp; why: string }[] = [];

/** Failures nobody knows about yet, and known weaknesses that no longer reproduce. */
export function triage(
  where: 'query' | 'path',
  failures: readonly string[],
): { unexpected: string[]; fixed: string[] } {
  const known = KNOWN_WEAKNESSES.filter((k) => k.where === where);
  return {
    unexpected: failures.filter((f) => !known.some((k) => k.reproduces.test(f))),
    fixed: known.filter((k) => !failures.some((f) => k.reproduces.test(f))).map((k) => k.why),
  };
}

/** As they go on the wire: the values above, and bytes no string encodes (bad UTF-8, bad escapes). */
export const HOSTILE_ENCODED: { encoded: string; echo: string }[] = [
  ...HOSTILE_VALUES.map((value) => ({ encoded: encodeURIComponent(value), echo: value })),
  ...['%ED%A0%80', '%FF%FE', '%C0%AF', '%', '%zz', '%%32%65'].map((encoded) => ({ encoded, echo: encoded })),
];

interface OpenApiParameter {
  in: string;
  name: string;
}

/** Every analytics GET route and its parameters, from the OpenAPI document. */
export function analyticsGetRoutes(
  app: FastifyInstance,
): { path: string; query: string[]; pathParams: string[] }[] {
  const doc = app.swagger() as { paths: Record<string, { get?: { parameters?: OpenApiParameter[] } }> };
  return Object.entries(doc.paths)
    .filter(([path, item]) => path.startsWith(API) && item.get && !path.endsWith('/stream'))
    .map(([path, item]) => {
      const parameters = item.get?.parameters ?? [];
      return {
        path,
        query: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
      };
    });
}

/** A route pattern with every path parameter set to 7 (an event the suites create). */
export function concrete(path: string): string {
  return path.replace(/\{[^}]+\}/g, '7');
}

/** Runs `run` over `items`, `size` at a time. */
export async function inBatches<T>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}
