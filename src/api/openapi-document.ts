/**
 * What the generated OpenAPI document cannot take from the route schemas: errors are sent as
 * `application/problem+json` (the schemas only say which status has which body), and every
 * analytics read answers 304 to an `If-None-Match` that lists its ETag (respond.ts).
 */
interface Operation {
  tags?: string[];
  responses?: Record<string, { description?: string; content?: Record<string, unknown> }>;
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
      if (etagged && responses['200'] !== undefined) responses['304'] = NOT_MODIFIED;
    }
  }
  return document;
}
