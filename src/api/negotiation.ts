/**
 * Content negotiation and encoding shared by every answer: JSON or CSV (`format=`, `Accept`),
 * gzip (`Accept-Encoding`), `Vary`, and the encoded bytes of hot answers kept so they are encoded
 * and compressed once.
 */
import { gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const JSON_TYPE = 'application/json; charset=utf-8';
const CSV_TYPE = 'text/csv; charset=utf-8';

/** The weight an Accept-style list element gives itself with `q=` (1 without; 0 when unreadable). */
function weightOf(params: readonly string[]): number {
  const q = params.find((p) => p.startsWith('q='));
  const weight = q === undefined ? 1 : Number(q.slice(2));
  return Number.isFinite(weight) ? weight : 0;
}

/** The q-value of each media range of an Accept header (RFC 9110, section 12.5.1). */
function acceptWeights(accept: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (range !== '') weights.set(range, weightOf(params));
  }
  return weights;
}

/**
 * CSV when `format=csv`, or when `Accept` names text/csv with a weight above zero and at least
 * that of JSON (application/json, application/*, or any type).
 */
export function wantsCsv(request: FastifyRequest): boolean {
  const format = (request.query as { format?: string } | undefined)?.format;
  if (format !== undefined) return format === 'csv';
  const accept = request.headers.accept;
  if (accept === undefined || !accept.toLowerCase().includes('text/csv')) return false;
  const weights = acceptWeights(accept);
  const csv = weights.get('text/csv') ?? 0;
  const json = weights.get('application/json') ?? weights.get('application/*') ?? weights.get('*/*') ?? 0;
  return csv > 0 && csv >= json;
}

/** Adds a request header to Vary (once: a request can get here twice, fresh then stale). */
export function varyOn(reply: FastifyReply, field: string): void {
  const vary = reply.getHeader('vary');
  if (vary === undefined) {
    void reply.header('Vary', field);
    return;
  }
  const named = String(vary);
  const lower = field.toLowerCase();
  if (!named.split(',').some((name) => name.trim().toLowerCase() === lower))
    void reply.header('Vary', `${named}, ${field}`);
}

/** Smaller answers are not worth compressing. */
export const GZIP_MIN_BYTES = 1_024;

/**
 * True when the client takes gzip (`Accept-Encoding`, RFC 9110: gzip, else *, with q > 0; `x-gzip`
 * is gzip, §8.4.1.3).
 */
export function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers['accept-encoding'];
  if (header === undefined) return false;
  let wildcard = false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const name = coding === 'x-gzip' ? 'gzip' : coding;
    if (name !== 'gzip' && name !== '*') continue;
    const accepted = weightOf(params) > 0;
    if (name === 'gzip') return accepted;
    wildcard = accepted;
  }
  return wildcard;
}

export interface Encoded {
  body: string;
  bytes: Buffer;
  gzipped?: Buffer;
}

/**
 * The bytes of recent cache hits, plain and gzipped, so a hot answer is encoded and compressed
 * once rather than on every request. Keyed by request; reused only while the cache hands back the
 * very same string.
 */
const ENCODED_ENTRIES = 200;
const encodedBodies = new Map<string, Encoded>();

export function encoded(key: string, body: string): Encoded {
  const known = encodedBodies.get(key);
  if (known?.body === body) return known;
  const entry: Encoded = { body, bytes: Buffer.from(body, 'utf8') };
  if (encodedBodies.size >= ENCODED_ENTRIES) {
    const oldest = encodedBodies.keys().next().value;
    if (oldest !== undefined) encodedBodies.delete(oldest);
  }
  encodedBodies.set(key, entry);
  return entry;
}

/**
 * A CSV answer is typed as such and named as a file after its endpoint (`top-events.csv`), so a
 * browser that opens the URL saves it under a useful name.
 */
export function csvDownload(reply: FastifyReply): FastifyReply {
  const name = reply.request.routeOptions.url?.split('/').pop() || 'export';
  return reply.type(CSV_TYPE).header('Content-Disposition', `attachment; filename="${name}.csv"`);
}

/**
 * An `onSend` hook for answers not sent through serveRead (the operations routes, the OpenAPI
 * document): JSON or CSV of GZIP_MIN_BYTES or more goes gzipped to a client that takes it, as
 * serveRead sends its own.
 */
export function gzipLargeAnswers(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (error: Error | null, payload?: unknown) => void,
): void {
  if (reply.hasHeader('content-encoding') || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
    done(null, payload);
    return;
  }
  const type = String(reply.getHeader('content-type') ?? '');
  if (!COMPRESSIBLE.test(type)) {
    done(null, payload);
    return;
  }
  // Negotiated by encoding whatever this one's size, as the figures are: a small answer too.
  varyOn(reply, 'Accept-Encoding');
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (bytes < GZIP_MIN_BYTES || !acceptsGzip(request)) {
    done(null, payload);
    return;
  }
  gzip(payload, (error, zipped) => {
    if (error) done(null, payload);
    else {
      void reply.header('Content-Encoding', 'gzip');
      done(null, zipped);
    }
  });
}

const COMPRESSIBLE = /^(application\/(json|problem\+json)|text\/csv)\b/;

export function plain(body: string): Encoded {
  return { body, bytes: Buffer.from(body, 'utf8') };
}
