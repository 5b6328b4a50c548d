/** Frozen in time: imports nothing from the application. */
import { sql, type Kysely } from 'kysely';

const flowColumns = `
  new_bookings int NOT NULL DEFAULT 0,
  confirmed int NOT NULL DEFAULT 0,
  cancelled int NOT NULL DEFAULT 0,
  expired int NOT NULL DEFAULT 0,
  revenue numeric(20,4) NOT NULL DEFAULT 0,
  gross_confirmed numeric(20,4) NOT NULL DEFAULT 0,
  confirmed_base int NOT NULL DEFAULT 0`;

const statements = [
  `CREATE TABLE event_log (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    transport text NOT NULL,
    channel text,
    outcome text NOT NULL CHECK (outcome IN ('processed','duplicate','ignored','rejected')),
    reason text,
    detail text,
    key text,
    message_type text,
    booking_id bigint,
    raw text NOT NULL,
    retried_at timestamptz
  )`,
  // Idempotency, enforced by PostgreSQL in the same transaction as the aggregate change.
  `CREATE UNIQUE INDEX event_log_processed_key ON event_log (key) WHERE outcome = 'processed'`,
  `CREATE INDEX event_log_rejected ON event_log (id) WHERE outcome = 'rejected'`,
  `CREATE INDEX event_log_parked ON event_log (booking_id) WHERE outcome = 'rejected' AND reason = 'unknown_booking'`,
  `CREATE TABLE bookings (
    booking_id bigint PRIMARY KEY,
    -- json, not jsonb: written on every change, only ever read whole, never queried inside.
    state json NOT NULL,
    event_id bigint NOT NULL,
    user_id bigint,
    created_at timestamptz
  )`,
  // No secondary indexes: they would cost every booking write, and only the rare recompute of an
  // event's or user's earliest booking (a booking that changed event, user or creation time) reads
  // by event or user.
  `CREATE TABLE events (
    event_id bigint PRIMARY KEY,
    event_name text NOT NULL DEFAULT 'Unknown Event',
    category text,
    total_capacity int NOT NULL DEFAULT 0,
    price numeric(20,4),
    status text,
    event_date timestamptz,
    created_at timestamptz,
    meta_time timestamptz,
    meta_field_times jsonb NOT NULL DEFAULT '{}',
    deleted boolean NOT NULL DEFAULT false,
    total_bookings int NOT NULL DEFAULT 0,
    pending_bookings int NOT NULL DEFAULT 0,
    confirmed_bookings int NOT NULL DEFAULT 0,
    cancelled_bookings int NOT NULL DEFAULT 0,
    expired_bookings int NOT NULL DEFAULT 0,
    tickets_sold int NOT NULL DEFAULT 0,
    seats_held int NOT NULL DEFAULT 0,
    total_revenue numeric(20,4) NOT NULL DEFAULT 0,
    confirmed_base int NOT NULL DEFAULT 0,
    first_booking timestamptz,
    last_booking timestamptz
  ) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000)`,
  `CREATE INDEX events_created_at ON events (created_at) WHERE NOT deleted`,
  `CREATE TABLE event_currency_revenue (
    event_id bigint NOT NULL,
    currency text NOT NULL,
    amount numeric(20,4) NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, currency)
  )`,
  `CREATE TABLE flow_bucket (bucket int PRIMARY KEY, ${flowColumns}, new_users int NOT NULL DEFAULT 0)`,
  `CREATE TABLE flow_bucket_event (
    event_id bigint NOT NULL, bucket int NOT NULL, ${flowColumns}, transitions int NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, bucket)
  )`,
  `CREATE INDEX flow_bucket_event_bucket ON flow_bucket_event (bucket)`,
  `CREATE TABLE flow_day (day date PRIMARY KEY, ${flowColumns}, new_users int NOT NULL DEFAULT 0, active_events int NOT NULL DEFAULT 0)`,
  `CREATE TABLE flow_day_event (
    event_id bigint NOT NULL, day date NOT NULL, ${flowColumns}, transitions int NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, day)
  )`,
  `CREATE INDEX flow_day_event_day ON flow_day_event (day)`,
  `CREATE TABLE users (
    user_id bigint PRIMARY KEY,
    bookings int NOT NULL DEFAULT 0,
    first_booking_at timestamptz
  )`,
  // A user's status is the newest change seen (message occurrence time, or the admin's action).
  `CREATE TABLE user_status (
    user_id bigint PRIMARY KEY,
    disabled boolean NOT NULL,
    changed_at timestamptz NOT NULL
  )`,
  `CREATE TABLE totals (
    id int PRIMARY KEY CHECK (id = 1),
    store_id text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text),
    bookings bigint NOT NULL DEFAULT 0,
    revenue numeric(24,4) NOT NULL DEFAULT 0,
    users bigint NOT NULL DEFAULT 0,
    data_version bigint NOT NULL DEFAULT 0,
    day_zone text NOT NULL DEFAULT 'UTC',
    processed bigint NOT NULL DEFAULT 0,
    duplicates bigint NOT NULL DEFAULT 0,
    ignored bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    log_pruned_before timestamptz
  )`,
  `CREATE TABLE reconcile_runs (
    id bigserial PRIMARY KEY,
    checked_at timestamptz NOT NULL DEFAULT now(),
    drift boolean NOT NULL,
    differences jsonb NOT NULL,
    difference_count int NOT NULL DEFAULT 0,
    duration_ms int NOT NULL,
    comparable boolean NOT NULL DEFAULT true
  )`,
  // BRIN: the log is append-only in received order, so this costs next to nothing per insert.
  `CREATE INDEX event_log_received_at ON event_log USING brin (received_at)`,
  `INSERT INTO totals (id) VALUES (1)`,
  `CREATE TABLE heartbeats (minute bigint PRIMARY KEY)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
