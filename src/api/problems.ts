/**
 * Every error the service answers, as an RFC 9457 problem: what the routes throw, what the
 * validators refuse, and the paths and methods no route serves. No internals reach a client.
 */
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { redactQuery } from '../platform/logger.ts';
import { isDatabaseUnavailable, isTransientFailure } from '../platform/db-guard.ts';
import type { MethodIndex } from './allowed-methods.ts';
import { DomainError, problemType, type Problem } from './errors.ts';
import { ruleOf, type ParamSchema } from './params.ts';

function validationDetail(error: FastifyError, schema: FastifySchema | undefined): string {
  const first = error.validation?.[0];
  if (!first) return 'the request is invalid';
  const params = first.params;
  if (first.keyword === 'additionalProperties') {
    const unknown = String(params.additionalProperty);
    // CSV is offered by list and series endpoints only (api.md); say so rather than "unknown".
    return unknown === 'format' && error.validationContext === 'querystring'
      ? 'format is not taken here: CSV is offered by the list and series endpoints only'
      : `unknown parameter "${unknown}"`;
  }
  const where = error.validationContext ?? 'request';
  if (where === 'body') {
    // A body of the wrong shape altogether (a bare array of messages): say what it should be.
    if (first.instancePath === '' && first.keyword === 'type') {
      const required = (schema?.body as { required?: string[] } | undefined)?.required ?? [];
      return required.length > 0
        ? `the request body must be a JSON object with ${required.map((n) => `"${n}"`).join(' and ')}, as in {"${required[0]}": …}`
        : 'the request body must be a JSON object';
    }
    const field = `body${first.instancePath.replaceAll('/', '.')}`;
    if (first.keyword === 'maxItems') return `${field} may hold at most ${String(params.limit)} items`;
    if (first.keyword === 'minItems') return `${field} must hold at least ${String(params.limit)} item(s)`;
    return `${field} ${first.message ?? 'is invalid'}`;
  }
  const name =
    first.instancePath.split('/').filter(Boolean)[0] ??
    (typeof params.missingProperty === 'string' ? params.missingProperty : 'body');
  const part = (schema as Record<string, { properties?: Record<string, ParamSchema> }> | undefined)?.[where];
  const rule = ruleOf(name, part?.properties?.[name]);
  return rule !== undefined ? `${name} must be ${rule}` : `${name} ${first.message ?? 'is invalid'}`;
}

export function problemOf(
  status: number,
  title: string,
  detail: string,
  url: string,
  requestId: string,
): Problem {
  return {
    type: problemType(status),
    title,
    status,
    detail,
    // The path asked for; a JWT pasted into it is not sent back.
    instance: redactQuery(url.split('?')[0] ?? url),
    request_id: requestId,
  };
}

/** The one error handler: the problem, its status and headers, and a log line for a failure of ours. */
export function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let status = error.statusCode ?? 500;
  let detail: string;
  let title: string;
  const headers: Record<string, string> = {};
  if (error instanceof DomainError) {
    status = error.status;
    detail = error.message;
    title = error.title;
    Object.assign(headers, error.headers);
  } else if (error.validation) {
    status = 400;
    title = 'Bad Request';
    detail = validationDetail(error, request.routeOptions.schema);
  } else if (isDatabaseUnavailable(error) || isTransientFailure(error)) {
    // Unreachable, or refused for a reason of the moment (a full disk, a deadlock): try again.
    status = 503;
    title = 'Service Unavailable';
    detail = 'a dependency is unavailable; retry shortly';
    headers['Retry-After'] = '5';
  } else if (status >= 500) {
    title = 'Internal Server Error';
    detail = 'an internal error occurred';
  } else {
    // 4xx raised by Fastify itself (body too large, bad JSON, unsupported media type, ...).
    title = status === 413 ? 'Payload Too Large' : status === 415 ? 'Unsupported Media Type' : 'Bad Request';
    detail =
      status === 413
        ? 'the request body is too large'
        : status === 415
          ? request.routeOptions.schema?.body !== undefined
            ? `the request body must be application/json (got ${request.headers['content-type'] ?? 'no Content-Type'})`
            : `the Content-Type header is not a media type (got "${request.headers['content-type'] ?? ''}")`
          : error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'the request body is empty, but its Content-Type says JSON'
            : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(error.message)
              ? 'the request body is not valid JSON'
              : error.message.replace(/\s+at .*/s, '');
  }
  if (status >= 500 && status !== 503) request.log.error({ err: error }, 'request failed');
  else if (status === 503) request.log.warn({ err: error }, 'dependency unavailable');
  const problem = problemOf(status, title, detail, request.url, request.id);
  // Validators set before the read failed (a 404, a 503) must not let a client cache the error.
  reply.removeHeader('etag');
  return reply.code(status).headers(headers).type('application/problem+json').send(problem);
}

/** A path no route serves: 404, or 405 and what it is served with when other methods serve it. */
export function answerNotFound(methods: MethodIndex) {
  return (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const asked = request.url.split('?')[0] ?? request.url;
    const served = methods.allowed(asked);
    // Echoed in the problem: a JWT pasted into a path is not sent back (nor logged).
    const path = redactQuery(asked);
    // The path exists, with other methods: 405 and what it is served with. A route of this method
    // that found nothing there (a static file that does not exist) is a plain 404.
    const allowed = served.includes(request.method) ? '' : served.join(', ');
    const problem = allowed
      ? problemOf(
          405,
          'Method Not Allowed',
          `${path} is served with ${allowed}, not ${request.method}`,
          path,
          request.id,
        )
      : problemOf(404, 'Not Found', `no route ${request.method} ${path}`, path, request.id);
    if (allowed) void reply.header('Allow', allowed);
    return reply.code(problem.status).type('application/problem+json').send(problem);
  };
}
