/** Admin operations on users: disable (every token of the user is refused) and enable again. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { bodyIgnored, envelopeSchema, errorResponses, problemRef } from '../api/schemas.ts';
import { principalOf } from './auth.plugin.ts';
import type { UserStatus } from './user-status.ts';
import { NoQuery } from '../api/params.ts';

const tags = ['admin'];
const security = [{ bearerAuth: [] }];

const UserParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The platform user id.' }),
});

const UserStatusResponse = envelopeSchema(
  'user status',
  Type.Object({
    user_id: Type.Integer(),
    disabled: Type.Boolean(),
    changed: Type.Boolean({ description: 'False when the user already had this status.' }),
  }),
);

export const userRoutes: FastifyPluginAsyncTypebox<{ users: UserStatus }> = async (app, opts) => {
  for (const action of ['disable', 'enable'] as const) {
    const disabled = action === 'disable';
    app.post(
      `/admin/users/:id/${action}`,
      {
        schema: {
          tags,
          security,
          summary: disabled
            ? 'Disable a user: their tokens are refused (401) on every instance within a second'
            : 'Enable a disabled user again',
          params: UserParams,
          querystring: NoQuery,
          response: {
            200: UserStatusResponse,
            ...errorResponses,
            ...bodyIgnored,
            ...(disabled ? { 409: problemRef('An admin cannot disable themselves') } : {}),
          },
        },
      },
      async (req) => {
        const by = principalOf(req).userId;
        const data = await opts.users.set(req.params.id, disabled, by);
        req.log.info({ user_id: data.user_id, by, changed: data.changed }, `user ${action}d`);
        return { success: true as const, data };
      },
    );
  }
};
