/** Every route registered inside this plugin's scope needs a valid admin token. */
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../api/errors.ts';
import type { Principal, TokenVerifier } from './tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function bearer(request: FastifyRequest, allowQueryToken: boolean): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  if (allowQueryToken) {
    const token = (request.query as { token?: unknown } | undefined)?.token;
    return typeof token === 'string' && token !== '' ? token : undefined;
  }
  return undefined;
}

export const adminAuth = fp<{ verifier: TokenVerifier }>(
  async (app, opts) => {
    app.decorateRequest('principal', undefined);
    app.addHook('onRequest', async (request) => {
      // EventSource cannot send headers: the live stream also takes the token as ?token=.
      const allowQuery = request.routeOptions.config?.allowQueryToken === true;
      const token = bearer(request, allowQuery);
      if (!token) throw new UnauthorizedError('a Bearer token is required');
      const result = await opts.verifier.verify(token);
      if (!result.ok) throw result.status === 403 ? new ForbiddenError(result.detail) : new UnauthorizedError(result.detail);
      request.principal = result.principal;
    });
  },
  { name: 'admin-auth' },
);

declare module 'fastify' {
  interface FastifyContextConfig {
    allowQueryToken?: boolean;
  }
}
