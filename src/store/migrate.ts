import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Db } from '../platform/db.ts';
import * as initial from './migrations/0001_initial.ts';
import * as currencyConfirmations from './migrations/0002_currency_confirmations.ts';
import * as ticketSumsBigint from './migrations/0003_ticket_sums_bigint.ts';
import * as bookingsWithoutFacts from './migrations/0004_bookings_without_facts.ts';
import * as activityMasks from './migrations/0005_activity_masks.ts';
import * as shiftedDays from './migrations/0006_shifted_days.ts';
import * as nameKey from './migrations/0007_name_key.ts';
import * as userStatusFuture from './migrations/0008_user_status_future.ts';
import * as uptimeRuns from './migrations/0009_uptime_runs.ts';
import * as deadLetterReasons from './migrations/0010_dead_letter_reasons.ts';
import * as eventRankings from './migrations/0011_event_rankings.ts';

/** Migrations are listed here, in order; each is frozen once released. */
class StaticProvider implements MigrationProvider {
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve({
      '0001_initial': initial,
      '0002_currency_confirmations': currencyConfirmations,
      '0003_ticket_sums_bigint': ticketSumsBigint,
      '0004_bookings_without_facts': bookingsWithoutFacts,
      '0005_activity_masks': activityMasks,
      '0006_shifted_days': shiftedDays,
      '0007_name_key': nameKey,
      '0008_user_status_future': userStatusFuture,
      '0009_uptime_runs': uptimeRuns,
      '0010_dead_letter_reasons': deadLetterReasons,
      '0011_event_rankings': eventRankings,
    });
  }
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  return migrator.migrateToLatest();
}
