/**
 * Disabling and re-enabling users from the admin API. The row in `disabled_users` is the truth
 * (the pipeline writes the same table for UserDeactivated / UserReactivated); this instance
 * reloads its list before answering, and a `users` notice on the bus makes every other instance
 * reload within moments (each also reloads every second on its own).
 */
import { sql } from 'kysely';
import type { Bus } from '../platform/bus.ts';
import type { Db } from '../platform/db.ts';

export interface UserStatusDeps {
  db: Db;
  bus: Pick<Bus, 'publish'>;
  disabledUsers: { refresh(): Promise<void> };
}

export interface UserStatusChange {
  user_id: number;
  disabled: boolean;
  /** False when the user already had that status. */
  changed: boolean;
}

export interface UserStatus {
  set(userId: number, disabled: boolean): Promise<UserStatusChange>;
}

export function createUserStatus(deps: UserStatusDeps): UserStatus {
  return {
    async set(userId, disabled) {
      const { rows } = disabled
        ? await sql`insert into disabled_users (user_id) values (${userId}) on conflict do nothing returning user_id`.execute(
            deps.db,
          )
        : await sql`delete from disabled_users where user_id = ${userId} returning user_id`.execute(deps.db);
      await deps.disabledUsers.refresh();
      await deps.bus.publish({ kind: 'users' });
      return { user_id: userId, disabled, changed: rows.length > 0 };
    },
  };
}
