/**
 * A failure of the moment, injected in the real database: the first row written to `table` (that
 * matches `when`) raises `errcode`, as a deadlock or a serialization failure would; later ones go
 * through. The count sits in a sequence, which the failed transaction does not roll back.
 */
import { sql } from 'kysely';
import type { Db } from '../../src/platform/db.ts';

export interface FailOnce {
  /** How many rows the trigger has seen fail or pass (the failure is the first). */
  tries(): Promise<number>;
  remove(): Promise<void>;
}

export async function failOnce(
  db: Db,
  o: { name: string; table: string; on: 'insert' | 'update'; errcode: string; when?: string },
): Promise<FailOnce> {
  const name = sql.raw(o.name);
  const table = sql.raw(o.table);
  const when = sql.raw(o.when ?? 'true');
  await sql`create sequence ${name}`.execute(db);
  await sql`create function ${name}() returns trigger language plpgsql as $$
    begin
      if ${when} and nextval(${sql.lit(o.name)}) = 1 then
        raise exception 'injected' using errcode = ${sql.lit(o.errcode)};
      end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger ${name} before ${sql.raw(o.on)} on ${table}
    for each row execute function ${name}()`.execute(db);
  return {
    async tries() {
      const { rows } = await sql<{ n: number }>`select last_value::int as n from ${name}`.execute(db);
      return rows[0]?.n ?? 0;
    },
    async remove() {
      await sql`drop trigger ${name} on ${table}`.execute(db);
    },
  };
}
