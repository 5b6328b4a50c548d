/**
 * The read path shared by every analytics GET: read-your-writes wait, versioned cache, the
 * {success, data, meta} envelope, and CSV for list and series endpoints.
 *
 * While PostgreSQL is out of reach (a failed read, or the circuit breaker open) the request is
 * answered with the last answer cached for it, whatever its data version, marked stale
 * (`meta.stale: true`, `X-Data-Stale: true`); with none, 503 with Retry-After.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ReadContext, Window } from './analytics.service.ts';
import { toCsv, type CsvShape } from './csv.ts';
import {
  acceptsGzip,
  csvDownload,
  encoded,
  GZIP_MIN_BYTES,
  JSON_TYPE,
  plain,
  varyOn,
  wantsCsv,
  type Encoded,
} from './negotiation.ts';
import { UnavailableError } from './errors.ts';
import { isValidTimeZone, todayIn } from '../aggregate/time.ts';
import type { BreakerSnapshot } from '../platform/breaker.ts';
import type { ResponseCache } from '../platform/cache.ts';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../platform/db-guard.ts';

export interface ReadState {
  /** The data version now committed (read after the call began, so never behind a commit before it). */
  dataVersion(): Promise<number>;
  /** The newest data version this instance has seen so far, without asking anyone. */
  knownVersion(): number;
  /** Resolves true once the data version reaches `version`, false after the timeout. */
  waitForVersion(version: number, timeoutMs: number): Promise<boolean>;
  /** Runs a database read behind the circuit breaker; DatabaseUnavailableError while it is open. */
  read<T>(query: () => Promise<T>): Promise<T>;
  /** The circuit breaker's state, for /health. */
  breaker(): BreakerSnapshot;
  cache: ResponseCache;
  /**
   * How long an answer stands at one data version (the cache's TTL, at least a minute: uptime
   * figures move with the clock). Its cached copy and its ETag change together, at the end of
   * each such period, so a 304 always stands for the body a 200 would send.
   */
  answerPeriodMs: number;
}

export interface ReadOptions<T> {
  ctx: ReadContext;
  minVersion?: number | undefined;
  compute: () => Promise<T>;
  /** Columns and rows for text/csv, when the endpoint is a list or series. */
  csv?: CsvShape<T>;
  /** The days the answer covers, when it has a window: `days`, `from`/`to` or neither, one key. */
  window?: Window | undefined;
}

/**
 * Route, path and query parameters, format, and the *resolved* as_of, zone and window: a request
 * without as_of means "today", which changes at midnight while the URL stays the same.
 */
function requestKey(request: FastifyRequest, csv: boolean, ctx: ReadContext, window?: Window): string {
  const memoKey = `${request.url}|${csv ? 'csv' : 'json'}|${ctx.asOf}|${ctx.tz}`;
  let key = requestKeys.get(memoKey);
  if (key === undefined) {
    key = computeRequestKey(request, csv, ctx, window);
    if (requestKeys.size >= MEMO_ENTRIES) requestKeys.clear();
    requestKeys.set(memoKey, key);
  }
  return key;
}

/** Hot requests repeat: their normalized keys and ETags are worked out once. */
const MEMO_ENTRIES = 1_000;
const requestKeys = new Map<string, string>();
const etags = new Map<string, { version: number; slot: number; tag: string }>();

/** Parameters the key holds in their resolved form (or that do not change the answer). */
const RESOLVED = new Set(['min_version', 'as_of', 'tz', 'format']);
const WINDOW = new Set(['days', 'from', 'to']);

/**
 * The parameters as validated (`days=030` is 30, defaults filled in, a blank filter is none) in
 * name order, so equivalent requests share one cached answer and one ETag.
 */
function computeRequestKey(request: FastifyRequest, csv: boolean, ctx: ReadContext, window?: Window): string {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const params = Object.entries(query)
    .filter(([k, v]) => !RESOLVED.has(k) && !(window && WINDOW.has(k)) && v !== undefined && v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const days = window ? `${window.from}..${window.to}` : '';
  return `${request.routeOptions.url ?? request.url}|${JSON.stringify(request.params)}|${JSON.stringify(params)}|${days}|${csv ? 'csv' : 'json'}|${ctx.asOf}|${ctx.tz}`;
}

/** The period of ReadState.answerPeriodMs an instant falls in. */
export function answerSlot(state: Pick<ReadState, 'answerPeriodMs'>, now = Date.now()): number {
  return Math.floor(now / state.answerPeriodMs);
}

/**
 * The gzipped and the plain answer are two representations: each has its own tag. The tag follows
 * what the client takes, so an answer too small to compress still gets the `-gz` tag for a client
 * that takes gzip (the same bytes under two tags: at worst one 304 missed when a client changes
 * its Accept-Encoding).
 */
function etagFor(key: string, version: number, slot: number, gzip: boolean): string {
  const memoKey = gzip ? `${key}|gz` : key;
  const known = etags.get(memoKey);
  if (known?.version === version && known.slot === slot) return known.tag;
  const tag = `"v${version}-${createHash('sha1').update(`${key}|${slot}`).digest('base64url').slice(0, 16)}${gzip ? '-gz' : ''}"`;
  if (etags.size >= MEMO_ENTRIES) etags.clear();
  etags.set(memoKey, { version, slot, tag });
  return tag;
}

/** True when If-None-Match lists this tag (weak comparison, RFC 9110, section 13.1.2). */
function listsTag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header === etag) return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** What one request asks for, worked out once: its cache key, its format and whether it takes gzip. */
interface Target {
  key: string;
  csv: boolean;
  gzip: boolean;
  /** The endpoint also answers text/csv, so the format follows the Accept header. */
  negotiated: boolean;
}

/** Sets the validators; true when the client already holds this answer. */
function notModified(
  request: FastifyRequest,
  reply: FastifyReply,
  target: Target,
  version: number,
  slot: number,
): boolean {
  const etag = etagFor(target.key, version, slot, target.gzip);
  void reply.header('ETag', etag).header('Cache-Control', 'private, no-cache');
  if (target.negotiated) varyOn(reply, 'Accept');
  varyOn(reply, 'Accept-Encoding');
  return listsTag(request.headers['if-none-match'], etag);
}

export async function serveRead<T>(
  state: ReadState,
  request: FastifyRequest,
  reply: FastifyReply,
  opts: ReadOptions<T>,
): Promise<unknown> {
  const csv = opts.csv !== undefined && wantsCsv(request);
  const target: Target = {
    key: requestKey(request, csv, opts.ctx, opts.window),
    csv,
    gzip: acceptsGzip(request),
    negotiated: opts.csv !== undefined,
  };
  try {
    return await serveCurrent(state, request, reply, opts, target);
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    return serveStale(state, request, reply, opts.minVersion, target, error);
  }
}

const gzipAsync = promisify(gzip);

/** Sends an answer, gzipped when the client takes it and it is big enough to gain from it. */
function sendBody(
  reply: FastifyReply,
  target: Target,
  answer: Encoded,
): FastifyReply | Promise<FastifyReply> {
  if (target.csv) csvDownload(reply);
  else void reply.type(JSON_TYPE);
  if (answer.bytes.length < GZIP_MIN_BYTES || !target.gzip) return reply.send(answer.bytes);
  if (answer.gzipped) return reply.header('Content-Encoding', 'gzip').send(answer.gzipped);
  // Off the event loop (zlib's thread pool): a big CSV must not hold up other requests.
  return gzipAsync(answer.bytes).then((zipped) => {
    answer.gzipped = zipped;
    return reply.header('Content-Encoding', 'gzip').send(zipped);
  });
}

async function serveCurrent<T>(
  state: ReadState,
  request: FastifyRequest,
  reply: FastifyReply,
  opts: ReadOptions<T>,
  target: Target,
): Promise<unknown> {
  const { key, csv } = target;
  if (opts.minVersion !== undefined && !(await state.waitForVersion(opts.minVersion, 5_000))) {
    throw new UnavailableError(`data version ${opts.minVersion} is not applied yet`, 1);
  }
  const version = await state.dataVersion();
  const slot = answerSlot(state);
  if (notModified(request, reply, target, version, slot)) return reply.code(304).send();

  const hit = await state.cache.get(key, version, slot);
  if (hit !== undefined) return sendBody(reply.header('X-Cache', 'HIT'), target, encoded(key, hit));

  const data = await state.read(opts.compute);
  if (csv && opts.csv) {
    const body = toCsv(opts.csv.rows(data), opts.csv.columns);
    await state.cache.set(key, version, body, slot);
    return sendBody(reply.header('X-Cache', 'MISS'), target, plain(body));
  }
  const meta = {
    generated_at: new Date().toISOString(),
    as_of: opts.ctx.asOf,
    data_version: version,
    cached: false,
  };
  // The data is serialized once; the cached copy differs only in its meta.
  const head = `{"success":true,"data":${JSON.stringify(data)},"meta":`;
  await state.cache.set(key, version, `${head}${JSON.stringify({ ...meta, cached: true })}}`, slot);
  return sendBody(reply.header('X-Cache', 'MISS'), target, plain(`${head}${JSON.stringify(meta)}}`));
}

/** The stored answer marked stale; undefined if what was stored cannot be read back. */
function markedStale(body: string, csv: boolean): string | undefined {
  if (csv) return body;
  try {
    const envelope = JSON.parse(body) as { meta: Record<string, unknown> };
    return JSON.stringify({ ...envelope, meta: { ...envelope.meta, cached: true, stale: true } });
  } catch {
    return undefined;
  }
}

async function serveStale(
  state: ReadState,
  request: FastifyRequest,
  reply: FastifyReply,
  minVersion: number | undefined,
  target: Target,
  cause: unknown,
): Promise<unknown> {
  const last = await state.cache.lastGood(target.key);
  // An answer older than the version the client has already seen would not be read-your-writes.
  const usable = last && (minVersion === undefined || last.version >= minVersion) ? last : undefined;
  const body = usable && markedStale(usable.body, target.csv);
  if (!usable || body === undefined) {
    const retryMs = cause instanceof DatabaseUnavailableError ? cause.retryAfterMs : 5_000;
    throw new UnavailableError(
      'the database is unavailable and no earlier answer to this request is cached; retry shortly',
      Math.max(1, Math.ceil(retryMs / 1000)),
    );
  }
  request.log.debug({ data_version: usable.version }, 'database unavailable: serving the last cached answer');
  void reply
    .header('X-Data-Stale', 'true')
    .header('Warning', '110 - "Response is Stale"')
    .header('X-Cache', 'STALE');
  // A tag of its own: once the database is back, a client holding the stale body gets the fresh one.
  const staleTarget = { ...target, key: `${target.key}|stale` };
  if (notModified(request, reply, staleTarget, usable.version, answerSlot(state)))
    return reply.code(304).send();
  return sendBody(reply, target, plain(body));
}

interface Envelope {
  success: true;
  data?: { data_version?: unknown };
  meta?: unknown;
}

function isEnvelope(payload: unknown): payload is Envelope {
  return typeof payload === 'object' && payload !== null && (payload as Envelope).success === true;
}

/**
 * A preSerialization hook that completes the success envelope (api.md) of answers handlers build
 * as objects (ingest, dead letters, rebuild, ...) with its `meta`. The analytics reads send bytes
 * that already hold theirs, and errors are problem details: neither passes through here.
 */
export function envelopeMeta(state: Pick<ReadState, 'dataVersion' | 'knownVersion'>, defaultZone: string) {
  return async (request: FastifyRequest, _reply: FastifyReply, payload: unknown): Promise<unknown> => {
    if (!isEnvelope(payload) || payload.meta !== undefined) return payload;
    // The version the operation produced, else the newest this instance knows; only an instance
    // that has seen none yet asks the database.
    const given = payload.data?.data_version;
    const known = state.knownVersion();
    const version =
      typeof given === 'number' ? given : known > 0 ? known : await state.dataVersion().catch(() => known);
    return {
      ...payload,
      meta: {
        generated_at: new Date().toISOString(),
        as_of: asOfOf(request, defaultZone),
        data_version: version,
        cached: false,
      },
    };
  };
}

/**
 * The envelope's as_of for an answer that is not a figure: the as_of the request gave (a handler
 * that takes one has checked it), else today in its zone or the reporting zone.
 */
function asOfOf(request: FastifyRequest, defaultZone: string): string {
  const q = request.query as { as_of?: unknown; tz?: unknown } | undefined;
  if (typeof q?.as_of === 'string') return q.as_of;
  return todayIn(typeof q?.tz === 'string' && isValidTimeZone(q.tz) ? q.tz : defaultZone);
}
