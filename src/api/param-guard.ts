/**
 * Raw query and path values are checked before schema validation coerces them. An empty query value
 * (`sort=`, `days=`, as a form sends a field left empty) is the same as none: the default applies,
 * as a blank filter already meant "any". Otherwise an integer must be
 * written as plain decimal digits (no 1e309, 0x7, 7.0 or 20-digit overflows), and no value may hold
 * a NUL byte (PostgreSQL refuses it in text) or be absurdly long, and a parameter that takes one
 * value may not be repeated (the schema would judge the list, and name the wrong rule).
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { BadRequestError } from './errors.ts';
import { ruleOf, type ParamSchema } from './params.ts';

// Up to 16 digits: every safe integer; the schema's own range then decides.
const INTEGER = /^-?\d{1,16}$/;
const MAX_VALUE_LENGTH = 1_000;

interface ObjectSchema {
  properties?: Record<string, ParamSchema>;
}

function check(values: unknown, schema: ObjectSchema | undefined, where: 'query' | 'path'): void {
  if (values === null || typeof values !== 'object') return;
  for (const [name, raw] of Object.entries(values as Record<string, unknown>)) {
    const property = schema?.properties?.[name];
    if (where === 'query' && raw === '' && property !== undefined) {
      delete (values as Record<string, unknown>)[name];
      continue;
    }
    if (Array.isArray(raw) && raw.length > 1 && property !== undefined && property.type !== 'array')
      throw new BadRequestError(`${name} is given ${raw.length} times; give it once`);
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      if (typeof value !== 'string') continue;
      if (value.includes('\u0000')) throw new BadRequestError(`${name} must not contain a NUL byte`);
      if (value.length > MAX_VALUE_LENGTH)
        throw new BadRequestError(`${name} is longer than ${MAX_VALUE_LENGTH} characters`);
      if (property?.type === 'integer' && !INTEGER.test(value)) {
        throw new BadRequestError(`${name} must be ${ruleOf(name, property) ?? 'an integer'}`);
      }
    }
  }
}

export function guardParameters(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  const schema = request.routeOptions.schema as
    { querystring?: ObjectSchema; params?: ObjectSchema } | undefined;
  try {
    check(request.query, schema?.querystring, 'query');
    check(request.params, schema?.params, 'path');
  } catch (error) {
    done(error instanceof Error ? error : new Error(String(error)));
    return;
  }
  done();
}
