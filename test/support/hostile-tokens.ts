/**
 * Tokens an attacker (or a confused client) might present: each must be refused. Built by hand
 * where a library would refuse to build them (alg none, an HMAC signature under an RSA header).
 */
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

export function adminClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    user_id: 1,
    email: 'user1@evently.local',
    role: 'admin',
    type: 'access',
    exp: now() + 3600,
    ...overrides,
  };
}

/** header.payload signed with HMAC-SHA256 over `secret`, whatever the header claims. */
export function handSigned(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  secret: string,
): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function hs(
  alg: 'HS256' | 'HS384' | 'HS512',
  secret: string,
  claims: Record<string, unknown>,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

export interface HostileToken {
  name: string;
  token: string;
  status: 401 | 403;
}

/** Every kind of token api.md says to refuse, for an app configured with HS256 and `secret`. */
export async function hostileTokens(secret: string): Promise<HostileToken[]> {
  const valid = await hs('HS256', secret, adminClaims());
  const [, validPayload = '', validSignature = ''] = valid.split('.');
  const userToken = await hs('HS256', secret, adminClaims({ role: 'user' }));
  const [userHeader = '', , userSignature = ''] = userToken.split('.');
  return [
    { name: 'alg none', token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(adminClaims())}.`, status: 401 },
    {
      name: 'alg "None" with a signature',
      token: `${b64({ alg: 'None' })}.${b64(adminClaims())}.${validSignature}`,
      status: 401,
    },
    { name: 'HS512 with the right secret', token: await hs('HS512', secret, adminClaims()), status: 401 },
    { name: 'HS384 with the right secret', token: await hs('HS384', secret, adminClaims()), status: 401 },
    {
      name: 'RS256 header over an HMAC signature',
      token: handSigned({ alg: 'RS256', typ: 'JWT' }, adminClaims(), secret),
      status: 401,
    },
    {
      name: 'ES256 header over an HMAC signature',
      token: handSigned({ alg: 'ES256', typ: 'JWT' }, adminClaims(), secret),
      status: 401,
    },
    {
      name: 'signed with another key',
      token: await hs('HS256', `${secret}-but-not-quite`, adminClaims()),
      status: 401,
    },
    {
      name: 'a user token promoted to admin',
      token: `${userHeader}.${b64(adminClaims())}.${userSignature}`,
      status: 401,
    },
    {
      name: 'a valid signature under another header',
      token: `${b64({ alg: 'HS256', typ: 'JWT', kid: 'x' })}.${validPayload}.${validSignature}`,
      status: 401,
    },
    { name: 'not a JWT', token: 'not-a-jwt', status: 401 },
    { name: 'three empty parts', token: '..', status: 401 },
    { name: 'garbage base64 parts', token: 'a.b.c', status: 401 },
    { name: 'a truncated token', token: valid.slice(0, -10), status: 401 },
    {
      name: 'a header that is not JSON',
      token: `${Buffer.from('{"alg":').toString('base64url')}.${b64(adminClaims())}.${validSignature}`,
      status: 401,
    },
    {
      name: 'a token issued an hour from now',
      token: await hs('HS256', secret, adminClaims({ iat: now() + 3600 })),
      status: 401,
    },
    {
      name: 'a token without exp',
      token: await hs('HS256', secret, adminClaims({ exp: undefined })),
      status: 401,
    },
    {
      name: 'exp as a string',
      token: await hs('HS256', secret, adminClaims({ exp: String(now() + 3600) })),
      status: 401,
    },
    {
      name: 'expired beyond the 30 s skew',
      token: await hs('HS256', secret, adminClaims({ exp: now() - 60 })),
      status: 401,
    },
    {
      name: 'not valid before a future nbf',
      token: await hs('HS256', secret, adminClaims({ nbf: now() + 600 })),
      status: 401,
    },
    {
      name: 'a refresh token',
      token: await hs('HS256', secret, adminClaims({ type: 'refresh' })),
      status: 401,
    },
    {
      name: 'a token of unknown type',
      token: await hs('HS256', secret, adminClaims({ type: 'id' })),
      status: 401,
    },
    {
      name: 'a token without user_id or sub',
      token: await hs('HS256', secret, adminClaims({ user_id: undefined })),
      status: 401,
    },
    {
      name: 'user_id true (coerces to 1)',
      token: await hs('HS256', secret, adminClaims({ user_id: true })),
      status: 401,
    },
    {
      name: 'user_id "0x10" (coerces to 16)',
      token: await hs('HS256', secret, adminClaims({ user_id: '0x10' })),
      status: 401,
    },
    { name: 'a non-admin role', token: userToken, status: 403 },
    { name: 'role "Admin"', token: await hs('HS256', secret, adminClaims({ role: 'Admin' })), status: 403 },
    {
      name: 'role ["admin"]',
      token: await hs('HS256', secret, adminClaims({ role: ['admin'] })),
      status: 403,
    },
    { name: 'no role', token: await hs('HS256', secret, adminClaims({ role: undefined })), status: 403 },
  ];
}

/** Expired, but within the 30 s clock skew api.md allows: accepted. */
export function withinSkew(secret: string): Promise<string> {
  return hs('HS256', secret, adminClaims({ exp: now() - 10 }));
}
