/** Response schemas shared by routes; they drive the OpenAPI document. */
import { Type } from '@fastify/type-provider-typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    request_id: Type.String(),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);

const problemRef = (description: string) => Type.Unsafe({ $ref: 'Problem#', description });

export const errorResponses = {
  400: problemRef('A parameter is invalid; the detail names it and its allowed range'),
  401: problemRef('Missing, invalid or expired token, or a disabled user'),
  403: problemRef('The token lacks the admin role'),
  404: problemRef('Unknown resource'),
  429: problemRef('Rate limit exceeded; see Retry-After'),
  503: problemRef('A dependency is down and no usable data is cached; see Retry-After'),
};

export const MetaSchema = Type.Object({
  generated_at: Type.String({ format: 'date-time' }),
  as_of: Type.Union([Type.String(), Type.Null()]),
  data_version: Type.Integer(),
  cached: Type.Boolean(),
  stale: Type.Optional(Type.Boolean()),
});

export function envelopeSchema(name: string, data = Type.Object({}, { additionalProperties: true })) {
  return Type.Object(
    { success: Type.Literal(true), data, meta: MetaSchema },
    { description: `The ${name} payload in the success envelope` },
  );
}
