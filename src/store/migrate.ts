/**
 * Runs the migrations in migrations/. The list is static (imported, not globbed) so the same code
 * works from src/ under tsx and vitest and from dist/ once built, whatever the file extension.
 */
import type { Knex } from 'knex';
import * as initial from '../../migrations/20261121000001_initial.js';
import * as historyTriggerPlans from '../../migrations/20261121000002_history_trigger_plans.js';
import * as appliedPayloads from '../../migrations/20261121000003_applied_payloads.js';
import * as databaseIdentity from '../../migrations/20261201000001_database_identity.js';
import * as quarantine from '../../migrations/20261201000002_quarantine.js';
import * as sharedQueue from '../../migrations/20261215000001_shared_queue.js';

type Migration = { up: (knex: Knex) => Promise<void>; down: (knex: Knex) => Promise<void> };

const MIGRATIONS: Record<string, Migration> = {
  '20261121000001_initial': initial,
  '20261121000002_history_trigger_plans': historyTriggerPlans,
  '20261121000003_applied_payloads': appliedPayloads,
  '20261201000001_database_identity': databaseIdentity,
  '20261201000002_quarantine': quarantine,
  '20261215000001_shared_queue': sharedQueue,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};

/** Applies pending migrations; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}
