/**
 * Admin JWT verification (api.md, Authentication): the configured HMAC algorithm only, a future
 * `exp` (30 s skew), an access token (not a refresh token), the admin role, a user not disabled.
 */
import { SignJWT, jwtVerify, errors } from 'jose';
import type { JwtAlgorithm } from '../platform/config.ts';

export interface Principal {
  userId: number;
  email: string | undefined;
  username: string | undefined;
  role: string;
}

export type VerifyResult = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; detail: string };

const CLOCK_SKEW_SECONDS = 30;

export interface TokenVerifier {
  verify(token: string): Promise<VerifyResult>;
}

export function createTokenVerifier(opts: {
  secret: string;
  algorithm: JwtAlgorithm;
  isDisabled: (userId: number) => boolean;
}): TokenVerifier {
  const key = new TextEncoder().encode(opts.secret);
  return {
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [opts.algorithm],
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        const detail =
          error instanceof errors.JWTExpired
            ? 'token has expired'
            : error instanceof errors.JWTClaimValidationFailed
              ? 'token is missing a required claim'
              : 'token is invalid';
        return { ok: false, status: 401, detail };
      }
      if (payload.type !== undefined && payload.type !== 'access') {
        return { ok: false, status: 401, detail: 'only access tokens are accepted' };
      }
      const userId = Number(payload.user_id ?? payload.sub);
      if (!Number.isSafeInteger(userId)) return { ok: false, status: 401, detail: 'token has no user_id' };
      if (opts.isDisabled(userId)) return { ok: false, status: 401, detail: 'user is disabled' };
      const role = typeof payload.role === 'string' ? payload.role : '';
      if (role !== 'admin') return { ok: false, status: 403, detail: 'the admin role is required' };
      return {
        ok: true,
        principal: {
          userId,
          email: typeof payload.email === 'string' ? payload.email : undefined,
          username: typeof payload.username === 'string' ? payload.username : undefined,
          role,
        },
      };
    },
  };
}

/** Mints a token the way the platform's auth service does (for development and tests). */
export async function mintToken(opts: {
  secret: string;
  algorithm: JwtAlgorithm;
  userId: number;
  role: string;
  email?: string;
  type?: string;
  expiresInSeconds: number;
}): Promise<string> {
  const claims: Record<string, unknown> = {
    user_id: opts.userId,
    email: opts.email ?? `user${opts.userId}@evently.local`,
    role: opts.role,
    type: opts.type ?? 'access',
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.algorithm, typ: 'JWT' })
    .setSubject(String(opts.userId))
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + opts.expiresInSeconds)
    .sign(new TextEncoder().encode(opts.secret));
}
