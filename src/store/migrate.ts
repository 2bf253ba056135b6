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

/** The advisory lock that queues the migrations of processes starting at once on one server. */
const MIGRATE_LOCK = 'motorsport-crawler migrate';

/**
 * Applies pending migrations; returns the names applied. On a server, under an advisory lock:
 * knex's own migration lock lives in a table it must first create, and processes starting at once
 * on an empty database (the workers of a shared crawl) race to create it. The embedded database
 * has one connection and one process.
 */
export async function migrateLatest(db: Knex): Promise<string[]> {
  if (db.client.config.client !== 'pg') return applyLatest(db);
  const connection: unknown = await db.client.acquireConnection();
  try {
    await db.raw('SELECT pg_advisory_lock(hashtext(?))', [MIGRATE_LOCK]).connection(connection);
    try {
      return await applyLatest(db);
    } finally {
      await db.raw('SELECT pg_advisory_unlock(hashtext(?))', [MIGRATE_LOCK]).connection(connection);
    }
  } finally {
    await db.client.releaseConnection(connection);
  }
}

async function applyLatest(db: Knex): Promise<string[]> {
  // why: knex types migrate.latest() as any; it resolves to [batch number, names applied].
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}
