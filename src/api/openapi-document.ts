/**
 * What the generated OpenAPI document cannot take from the route schemas: errors are sent as
 * `application/problem+json` (the schemas only say which status has which body); every analytics
 * read answers 304 to an `If-None-Match` that lists its ETag (respond.ts); the headers the API
 * sends (rate limit, ETag, Retry-After, WWW-Authenticate) and takes (If-None-Match,
 * Last-Event-ID); and an operationId for each operation, for client generators.
 */
interface Response {
  description?: string;
  content?: Record<string, unknown>;
  headers?: Record<string, unknown>;
}

interface Operation {
  tags?: string[];
  operationId?: string;
  parameters?: Record<string, unknown>[];
  responses?: Record<string, Response>;
}

const header = (description: string, type: 'string' | 'integer' = 'string') => ({
  description,
  schema: { type },
});

const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': header(
    'Requests allowed per window: RATE_LIMIT_ANALYTICS, or on /ingest RATE_LIMIT_INGEST (no RateLimit-* headers when that is 0)',
    'integer',
  ),
  'RateLimit-Remaining': header('Requests left in the current window', 'integer'),
  'RateLimit-Reset': header('Seconds until the window resets', 'integer'),
};
const ETAG = { ETag: header('The version of this answer; send it back in If-None-Match for a 304') };
const RETRY_AFTER = { 'Retry-After': header('Seconds to wait before trying again', 'integer') };
const WWW_AUTHENTICATE = {
  'WWW-Authenticate': header('Bearer challenge; error="invalid_token" when a token was given and refused'),
};

const IF_NONE_MATCH = {
  name: 'If-None-Match',
  in: 'header',
  required: false,
  description: 'ETags of answers the client holds: 304 without a body when one is current',
  schema: { type: 'string' },
};
const LAST_EVENT_ID = {
  name: 'Last-Event-ID',
  in: 'header',
  required: false,
  description:
    'The id (data version) of the last change received: a change at once if a batch was committed since',
  schema: { type: 'string' },
};

/** `GET /api/v1/analytics/events/{event_id}` → `getEventsByEventId`. */
function operationIdOf(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v1\/analytics/, '')
    .split('/')
    .filter(Boolean)
    .flatMap((part) =>
      part.startsWith('{') ? ['by', ...part.slice(1, -1).split('_')] : part.split(/[-_.]/),
    );
  return [method, ...words]
    .map((word, i) => (i === 0 ? word.toLowerCase() : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
}

const PROBLEM = '#/components/schemas/Problem';

const NOT_MODIFIED = {
  description: 'Not Modified: If-None-Match lists the current ETag of this answer (no body)',
};

/** Paths of analytics GETs that are not read through respond.ts, so have no ETag. */
const WITHOUT_ETAG = new Set(['/api/v1/analytics/stream']);

export function finishDocument<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Operation>> }).paths ?? {};
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const responses = operation.responses ?? {};
      for (const [status, response] of Object.entries(responses)) {
        const body = response.content?.['application/json'] as { schema?: { $ref?: string } } | undefined;
        // Only problem bodies: /health and /health/ready answer 503 in their own JSON shapes.
        if (Number(status) >= 400 && body?.schema?.$ref === PROBLEM)
          response.content = { 'application/problem+json': body };
      }
      const etagged = method === 'get' && operation.tags?.includes('analytics') && !WITHOUT_ETAG.has(path);
      if (etagged && responses['200'] !== undefined) {
        responses['304'] = { ...NOT_MODIFIED, headers: ETAG };
        operation.parameters = [...(operation.parameters ?? []), IF_NONE_MATCH];
      }
      if (path === '/api/v1/analytics/stream' && method === 'get')
        operation.parameters = [...(operation.parameters ?? []), LAST_EVENT_ID];
      operation.operationId ??= operationIdOf(method, path);
      // Rate limited, with a token: every route under the API prefix.
      if (path.startsWith('/api/v1/analytics/')) {
        const ok = responses['200'];
        if (ok) ok.headers = { ...ok.headers, ...RATE_LIMIT_HEADERS, ...(etagged ? ETAG : {}) };
        if (responses['401']) responses['401'].headers = WWW_AUTHENTICATE;
        if (responses['429']) responses['429'].headers = { ...RETRY_AFTER, ...RATE_LIMIT_HEADERS };
      }
      if (responses['503']) responses['503'].headers = RETRY_AFTER;
    }
  }
  return document;
}
