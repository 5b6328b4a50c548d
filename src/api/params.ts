/**
 * Query parameters shared by the analytics routes: their schemas (validation + OpenAPI) and the
 * human rule each one is held to, which a 400 names.
 */
import { Type, type Static, type TSchema } from '@fastify/type-provider-typebox';
import { addDays, daysBetween, isValidDate, isValidTimeZone, sameZone, todayIn } from '../aggregate/time.ts';
import { BadRequestError } from './errors.ts';
import type { ReadContext, Window } from './analytics.service.ts';

/**
 * The days a query may name: real calendar days, in a span every window reaching two years back
 * (or a day forward) stays inside of, for JavaScript and PostgreSQL alike.
 */
const FIRST_DATE = '1900-01-01';
const LAST_DATE = '2999-12-31';
const DATE_RULE = `a date YYYY-MM-DD from ${FIRST_DATE} to ${LAST_DATE}`;

function isQueryDate(text: string): boolean {
  return isValidDate(text) && text >= FIRST_DATE && text <= LAST_DATE;
}

/** Parameters whose rule is worded by hand; every other one's is read off its schema (ruleOf). */
export const PARAM_RULES: Record<string, string> = {
  as_of: DATE_RULE,
  tz: 'an IANA time zone such as Europe/Paris',
  from: DATE_RULE,
  to: DATE_RULE,
};

/** The part of a JSON schema a parameter's rule is read from. */
export interface ParamSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  const?: unknown;
  anyOf?: readonly ParamSchema[];
}

/** The rule a parameter is held to, as a 400 names it ("limit must be an integer from 1 to 50"). */
export function ruleOf(name: string, schema: ParamSchema | undefined): string | undefined {
  const fixed = PARAM_RULES[name];
  if (fixed !== undefined || schema === undefined) return fixed;
  const choices = (schema.anyOf ?? [])
    .map((s) => s.const)
    .filter((c): c is string | number => typeof c === 'string' || typeof c === 'number');
  if (choices.length > 0) return `one of ${choices.join(', ')}`;
  if (schema.type === 'integer') {
    const { minimum: min, maximum: max } = schema;
    if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`;
    if (min !== undefined) return `an integer >= ${min}`;
    return max !== undefined ? `an integer <= ${max}` : 'an integer';
  }
  if (schema.type === 'boolean') return 'true or false';
  if (schema.type === 'string' && schema.maxLength !== undefined)
    return `a text of at most ${schema.maxLength} characters`;
  return undefined;
}

const date = (description: string) => Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description });

export const Common = {
  as_of: Type.Optional(
    date(
      "The date every rolling window ends on (default: today in the zone the figures are in: the request's `tz`, else the reporting zone).",
    ),
  ),
  tz: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone days are bucketed in.' }),
  ),
  min_version: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Read-your-writes: wait up to 5 s for this data version.',
    }),
  ),
};

export const Days = {
  days: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 365, description: 'Window length in days (default 30).' }),
  ),
};

export const Format = {
  format: Type.Optional(
    Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv for text/csv.' }),
  ),
};

/** A window given by its days instead of `days` (every endpoint that takes `days`). */
export const FromTo = {
  from: Type.Optional(date('First day (inclusive), instead of days.')),
  to: Type.Optional(date('Last day (inclusive), instead of days.')),
};

/** FromTo and the bucket size, for the endpoints whose series is not daily by name. */
export const Range = {
  ...FromTo,
  granularity: Type.Optional(
    Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { default: 'day' }),
  ),
};

export function querySchema<P extends Record<string, TSchema>>(props: P) {
  return Type.Object(props, { additionalProperties: false });
}

/** A route that takes no query parameters still refuses unknown ones (400), as every route does. */
export const NoQuery = querySchema({});

export type CommonQuery = Static<ReturnType<typeof querySchema<typeof Common>>>;

export function readContext(
  q: { as_of?: string | undefined; tz?: string | undefined },
  defaultZone: string,
): ReadContext {
  const given = q.tz ?? defaultZone;
  if (!isValidTimeZone(given)) throw new BadRequestError(`tz must be ${PARAM_RULES.tz} (got "${given}")`);
  // The reporting zone under another name is the reporting zone: its day tables, its cached answers.
  const tz = given !== defaultZone && sameZone(given, defaultZone) ? defaultZone : given;
  if (q.as_of !== undefined && !isQueryDate(q.as_of))
    throw new BadRequestError(`as_of must be ${PARAM_RULES.as_of}`);
  return { tz, asOf: q.as_of ?? todayIn(tz) };
}

export const MAX_RANGE_DAYS = 731;

/** `from`/`to` (inclusive, at most 731 days apart) or the `days` ending on as_of. */
export function resolveWindow(
  ctx: ReadContext,
  q: { days?: number | undefined; from?: string | undefined; to?: string | undefined },
): Window {
  if (q.from === undefined && q.to === undefined) {
    const days = q.days ?? 30;
    return { from: addDays(ctx.asOf, -(days - 1)), to: ctx.asOf };
  }
  if (q.days !== undefined) throw new BadRequestError('use either days or from/to, not both');
  for (const name of ['from', 'to'] as const) {
    const value = q[name];
    if (value !== undefined && !isQueryDate(value))
      throw new BadRequestError(`${name} must be ${PARAM_RULES[name]}`);
  }
  const to = q.to ?? ctx.asOf;
  const from = q.from ?? addDays(to, -29);
  const span = daysBetween(from, to);
  // A bound left out is named with the date it took, which the caller never wrote.
  const toSaid = q.to === undefined ? `to (not given: as_of, ${to})` : `to (${to})`;
  if (span < 0) throw new BadRequestError(`from (${from}) must not be after ${toSaid}`);
  if (span > MAX_RANGE_DAYS)
    throw new BadRequestError(`from (${from}) and ${toSaid} must be at most ${MAX_RANGE_DAYS} days apart`);
  return { from, to };
}
