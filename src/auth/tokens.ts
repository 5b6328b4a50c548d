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
  /**
   * When the session behind the token ends (`exp`, seconds since epoch): an access token's own;
   * for a stream token, that of the access token it was minted with (`session_exp`), so an open
   * stream can outlive the few minutes its URL token is good for, but not the session.
   */
  sessionExp: number;
}

export type VerifyResult =
  | { ok: true; principal: Principal }
  /**
   * `userId` when the token itself is valid (signed, unexpired, of the right kind) and only its
   * user is refused: a disabled user (401) or one without the admin role (403).
   */
  | { ok: false; status: 401 | 403; detail: string; userId?: number };

export const CLOCK_SKEW_SECONDS = 30;
export const STREAM_TOKEN_MAX_SECONDS = 300;
const VERIFIED_CACHE_SIZE = 10_000;

export interface TokenVerifier {
  /**
   * `kind` 'access' (default) accepts platform access tokens (`type` absent or "access");
   * 'stream' accepts only the short-lived tokens minted for EventSource (`type` "stream").
   */
  verify(token: string, kind?: 'access' | 'stream'): Promise<VerifyResult>;
}

/**
 * A user id as the auth service writes it: a positive integer, or its decimal text. Anything
 * else (`true`, `"0x10"`, `"1e3"`, `[7]`) would coerce to some id and could dodge the disabled list.
 */
function userIdOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value === 'string' && /^[1-9]\d{0,15}$/.test(value)) {
    const id = Number(value);
    return Number.isSafeInteger(id) ? id : undefined;
  }
  return undefined;
}

/**
 * Why a token was refused, in words that say what to fix. Saying that a signature does not verify
 * tells a forger nothing they did not know; it tells an admin with a token from another secret
 * (another DATA_DIR, another deployment) where to look.
 */
function refusal(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token has expired';
  if (error instanceof errors.JWTClaimValidationFailed && error.reason === 'missing')
    return `token is missing the required claim "${error.claim}"`;
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return "token's signature does not verify: it was signed with another secret";
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'token is signed with an algorithm this service does not accept';
  return 'token is invalid';
}

export function createTokenVerifier(opts: {
  secret: string;
  algorithm: JwtAlgorithm;
  isDisabled: (userId: number) => boolean;
}): TokenVerifier {
  const key = new TextEncoder().encode(opts.secret);
  // A signature that verified once verifies again: remember good tokens (by their full text) so a
  // busy admin's requests skip the HMAC. Expiry, type, role and the disabled list are still
  // checked on every request, below.
  const verified = new Map<string, Record<string, unknown>>();
  return {
    async verify(token, kind = 'access') {
      let payload = verified.get(token);
      if (
        payload &&
        (typeof payload.exp !== 'number' || payload.exp + CLOCK_SKEW_SECONDS <= Date.now() / 1000)
      ) {
        verified.delete(token);
        return { ok: false, status: 401, detail: 'token has expired' };
      }
      if (!payload) {
        try {
          ({ payload } = await jwtVerify(token, key, {
            algorithms: [opts.algorithm],
            clockTolerance: CLOCK_SKEW_SECONDS,
            requiredClaims: ['exp'],
          }));
        } catch (error) {
          return { ok: false, status: 401, detail: refusal(error) };
        }
        // jose checks exp and nbf; a token from the future is no better than one from the past.
        if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS)
          return { ok: false, status: 401, detail: 'token is issued in the future' };
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear();
        verified.set(token, payload);
      }
      if (
        kind === 'stream'
          ? payload.type !== 'stream'
          : payload.type !== undefined && payload.type !== 'access'
      ) {
        return {
          ok: false,
          status: 401,
          detail:
            kind === 'stream'
              ? '?token= takes only a stream token (POST /api/v1/analytics/stream/token)'
              : 'only access tokens are accepted',
        };
      }
      // A stream token lives at most a few minutes, whatever its signer claims (and without `iat`
      // its lifetime is unknown).
      if (
        kind === 'stream' &&
        (typeof payload.iat !== 'number' || (payload.exp as number) - payload.iat > STREAM_TOKEN_MAX_SECONDS)
      ) {
        return {
          ok: false,
          status: 401,
          detail: 'stream tokens must say when they were issued and may live at most 5 minutes',
        };
      }
      const userId = userIdOf(payload.user_id ?? payload.sub);
      if (userId === undefined) return { ok: false, status: 401, detail: 'token has no valid user_id' };
      if (opts.isDisabled(userId)) return { ok: false, status: 401, detail: 'user is disabled', userId };
      const role = typeof payload.role === 'string' ? payload.role : '';
      if (role !== 'admin') return { ok: false, status: 403, detail: 'the admin role is required', userId };
      const exp = payload.exp as number;
      const sessionExp =
        kind === 'stream' && typeof payload.session_exp === 'number' ? payload.session_exp : exp;
      // A stream token outliving the session it was minted in opens nothing (an EventSource would
      // reconnect to a stream that ends at once, again and again, until the token expired).
      if (sessionExp + CLOCK_SKEW_SECONDS <= Date.now() / 1000)
        return { ok: false, status: 401, detail: 'the session of this stream token has expired' };
      return {
        ok: true,
        principal: {
          userId,
          email: typeof payload.email === 'string' ? payload.email : undefined,
          username: typeof payload.username === 'string' ? payload.username : undefined,
          role,
          sessionExp,
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
  /** A stream token's `session_exp`: when the access token it was minted with expires. */
  sessionExp?: number;
}): Promise<string> {
  const claims: Record<string, unknown> = {
    user_id: opts.userId,
    email: opts.email ?? `user${opts.userId}@evently.local`,
    role: opts.role,
    type: opts.type ?? 'access',
    ...(opts.sessionExp === undefined ? {} : { session_exp: opts.sessionExp }),
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.algorithm, typ: 'JWT' })
    .setSubject(String(opts.userId))
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + opts.expiresInSeconds)
    .sign(new TextEncoder().encode(opts.secret));
}
