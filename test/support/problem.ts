/** What every error answer of the API must look like, and what no answer may ever carry. */
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** Text that betrays internals: a stack frame, SQL or a driver message. */
const INTERNALS = ['    at ', 'select ', 'syntax error', 'relation ', 'postgres', 'kysely', 'node_modules'];

/**
 * Problems in `body` that the client could not have put there itself: `echoes` (values the request
 * sent, which a 400 may quote back) are cut out first.
 */
export function leaks(body: string, secrets: readonly string[], echoes: readonly string[] = []): string[] {
  let text = body;
  for (const echo of echoes) {
    for (const form of [echo, JSON.stringify(echo).slice(1, -1), encodeURIComponent(echo)]) {
      if (form !== '') text = text.split(form).join('');
    }
  }
  const lower = text.toLowerCase();
  const found = INTERNALS.filter((needle) => lower.includes(needle));
  if (lower.includes('password')) found.push('password');
  for (const secret of secrets) if (secret !== '' && text.includes(secret)) found.push('a secret');
  return found;
}

/** An RFC 9457 problem with this status, as application/problem+json, naming the request. */
export function expectProblem(response: LightMyRequestResponse, status: number): Record<string, unknown> {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = response.json<Record<string, unknown>>();
  expect(problem.status).toBe(status);
  for (const field of ['type', 'title', 'detail', 'instance'] as const)
    expect(typeof problem[field], field).toBe('string');
  expect(problem.request_id).toBe(response.headers['x-request-id']);
  return problem;
}
