/**
 * Frozen in time: imports nothing from the application.
 *
 * `other_currency_revenue` lists a currency while the event has confirmed bookings in it, even when
 * their amounts add up to 0 (free tickets): the confirmations are counted beside the amount. Rows
 * written before are counted from the bookings as stored: a booking is confirmed while it has a
 * confirmation and neither an expiry nor a cancellation, in the currency its confirmation (else its
 * creation) names. Only rows that exist are counted: free tickets confirmed before this migration
 * never made a row (their sum was 0), and telling their currency from the base one needs
 * BASE_CURRENCY, which a migration does not have. `npm run rebuild` lists those too.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table event_currency_revenue add column confirmed int not null default 0`.execute(db);
  await sql`
    update event_currency_revenue c set confirmed = n.n
    from (
      select b.event_id,
        coalesce(b.state -> 'confirmed' ->> 'currency', b.state -> 'created' ->> 'currency') as currency,
        count(*)::int as n
      from bookings b
      where b.state -> 'confirmed' is not null and b.state -> 'expired' is null and b.state -> 'cancelled' is null
        and coalesce(b.state -> 'confirmed' -> 'quantity', b.state -> 'created' -> 'quantity') is not null
        and coalesce(b.state -> 'confirmed' -> 'amount', b.state -> 'created' -> 'amount') is not null
      group by 1, 2
    ) n
    where c.event_id = n.event_id and c.currency = n.currency`.execute(db);
}
