/**
 * The read path shared by every analytics GET: read-your-writes wait, versioned cache, the
 * {success, data, meta} envelope, and CSV for list and series endpoints.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ReadContext } from './analytics.service.ts';
import { toCsv } from './csv.ts';
import { UnavailableError } from './errors.ts';
import type { ResponseCache } from '../platform/cache.ts';

export interface ReadState {
  /** The newest data version this instance knows of. */
  dataVersion(): Promise<number>;
  /** Resolves true once the data version reaches `version`, false after the timeout. */
  waitForVersion(version: number, timeoutMs: number): Promise<boolean>;
  cache: ResponseCache;
}

export interface ReadOptions<T> {
  ctx?: ReadContext;
  minVersion?: number | undefined;
  compute: () => Promise<T>;
  /** Rows for text/csv, when the endpoint is a list or series. */
  csv?: (data: T) => readonly Record<string, unknown>[];
}

export function wantsCsv(request: FastifyRequest): boolean {
  const format = (request.query as { format?: string } | undefined)?.format;
  if (format !== undefined) return format === 'csv';
  return (request.headers.accept ?? '').includes('text/csv');
}

function cacheKey(request: FastifyRequest, version: number, csv: boolean): string {
  const url = new URL(request.url, 'http://x');
  const params = [...url.searchParams].filter(([k]) => k !== 'min_version').sort(([a], [b]) => a.localeCompare(b));
  return `${request.routeOptions.url ?? url.pathname}|${JSON.stringify(request.params)}|${new URLSearchParams(params).toString()}|v${version}|${csv ? 'csv' : 'json'}`;
}

export async function serveRead<T>(
  state: ReadState,
  request: FastifyRequest,
  reply: FastifyReply,
  opts: ReadOptions<T>,
): Promise<unknown> {
  if (opts.minVersion !== undefined && !(await state.waitForVersion(opts.minVersion, 5_000))) {
    throw new UnavailableError(`data version ${opts.minVersion} is not applied yet`, 1);
  }
  const version = await state.dataVersion();
  const csv = opts.csv !== undefined && wantsCsv(request);
  const etag = `"v${version}-${Buffer.from(cacheKey(request, version, csv)).toString('base64url').slice(-24)}"`;
  void reply.header('ETag', etag).header('Cache-Control', 'private, no-cache');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();

  const key = cacheKey(request, version, csv);
  const hit = await state.cache.get(key);
  if (hit !== undefined) {
    void reply.header('X-Cache', 'HIT');
    if (csv) return reply.type('text/csv; charset=utf-8').send(hit);
    return reply.type('application/json; charset=utf-8').send(hit);
  }
  const data = await opts.compute();
  if (csv && opts.csv) {
    const body = toCsv(opts.csv(data));
    await state.cache.set(key, body);
    return reply.type('text/csv; charset=utf-8').header('X-Cache', 'MISS').send(body);
  }
  const body = JSON.stringify({
    success: true,
    data,
    meta: {
      generated_at: new Date().toISOString(),
      as_of: opts.ctx?.asOf ?? null,
      data_version: version,
      cached: false,
    },
  });
  await state.cache.set(key, body.replace('"cached":false}', '"cached":true}'));
  return reply.type('application/json; charset=utf-8').header('X-Cache', 'MISS').send(body);
}
