/**
 * Disabling and re-enabling users from the admin API. The row in `user_status` is the truth
 * (the pipeline writes the same table for UserDeactivated / UserReactivated); this instance
 * reloads its list before answering, and a `users` notice on the bus makes every other instance
 * reload within moments (each also reloads every second on its own).
 */
import { ConflictError } from '../api/errors.ts';
import type { Bus } from '../platform/bus.ts';
import type { Db } from '../platform/db.ts';
import { overrideUserStatus } from '../store/users.repository.ts';

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
  /** `by`: the admin acting; disabling themselves is refused (409). */
  set(userId: number, disabled: boolean, by: number): Promise<UserStatusChange>;
}

export function createUserStatus(deps: UserStatusDeps): UserStatus {
  return {
    async set(userId, disabled, by) {
      // Their own tokens would be refused at once, the one to enable them again included.
      if (disabled && userId === by)
        throw new ConflictError('you cannot disable yourself; another admin can');
      const changed = await overrideUserStatus(deps.db, userId, disabled);
      await deps.disabledUsers.refresh();
      await deps.bus.publish({ kind: 'users' });
      return { user_id: userId, disabled, changed };
    },
  };
}
