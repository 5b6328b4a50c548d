/**
 * Every route registered inside this plugin's scope needs a valid admin token.
 *
 * Two steps, so the rate limiter can sit between them: `onRequest` identifies the caller (sets
 * `request.principal` when the token is good, remembers the refusal otherwise), the limiter's
 * route-level `onRequest` hook then keys on the user or the client IP, and `preParsing` refuses a
 * bad token before any body is read. Invalid tokens are thereby counted against the client IP,
 * which is what stops a token from being guessed at full speed; a valid token refused for its
 * user (not an admin, disabled) counts against that user, as api.md's "per user" says.
 */
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError, type DomainError } from '../api/errors.ts';
import type { Principal, TokenVerifier } from './tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The user a valid token names, accepted or not (a non-admin, a disabled user): rate limits count per user. */
    caller?: number;
  }
  interface FastifyContextConfig {
    allowQueryToken?: boolean;
  }
}

function bearer(
  request: FastifyRequest,
  allowQueryToken: boolean,
): { token: string; kind: 'access' | 'stream' } | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ? { token: match[1], kind: 'access' } : undefined;
  }
  if (allowQueryToken) {
    // A URL ends up in histories and proxy logs: only a short-lived stream token rides there.
    const token = (request.query as { token?: unknown } | undefined)?.token;
    return typeof token === 'string' && token !== '' ? { token, kind: 'stream' } : undefined;
  }
  return undefined;
}

/** The caller of a route inside adminAuth's scope (whose hooks refuse a request without one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('the admin-auth hooks did not run for this route');
  return request.principal;
}

export const adminAuth = fp<{ verifier: TokenVerifier }>(
  async (app, opts) => {
    const refusals = new WeakMap<FastifyRequest, DomainError>();
    app.decorateRequest('principal', undefined);
    app.decorateRequest('caller', undefined);

    app.addHook('onRequest', async (request) => {
      // EventSource cannot send headers: the live stream also takes the token as ?token=.
      const allowQuery = request.routeOptions.config?.allowQueryToken === true;
      const given = bearer(request, allowQuery);
      if (!given) {
        refusals.set(request, new UnauthorizedError('a Bearer token is required'));
        return;
      }
      const result = await opts.verifier.verify(given.token, given.kind);
      if (result.ok) {
        request.principal = result.principal;
        request.caller = result.principal.userId;
        return;
      }
      request.caller = result.userId;
      // The reason, never the token: the log must not become a place to harvest credentials.
      request.log.info({ status: result.status, reason: result.detail }, 'token refused');
      refusals.set(
        request,
        result.status === 403
          ? new ForbiddenError(result.detail)
          : new UnauthorizedError(result.detail, { invalidToken: true }),
      );
    });

    app.addHook('preParsing', async (request) => {
      const refusal = refusals.get(request);
      if (refusal) throw refusal;
      if (!request.principal) throw new UnauthorizedError('a Bearer token is required');
    });
  },
  { name: 'admin-auth' },
);
