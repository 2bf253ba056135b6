/**
 * Runs the migrations in migrations/: every file there is one, named after its file without the
 * extension (the names knex_migrations holds). The folder is found next to this module, not under
 * the package root: from src/ (tsx, vitest) it holds the .ts sources, from dist/src/ the compiled
 * dist/migrations/*.js, so the files taken are those of this module's own extension.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

type Migration = { up: (knex: Knex) => Promise<void>; down: (knex: Knex) => Promise<void> };

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const EXTENSION = path.extname(fileURLToPath(import.meta.url));

/** The migration names, in the order they run (their names start with a timestamp). */
function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => file.endsWith(EXTENSION) && !file.endsWith(`.d${EXTENSION}`))
    .map((file) => file.slice(0, -EXTENSION.length))
    .sort();
}

function isMigration(module: unknown): module is Migration {
  return (
    typeof module === 'object' &&
    module !== null &&
    'up' in module &&
    typeof module.up === 'function' &&
    'down' in module &&
    typeof module.down === 'function'
  );
}

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrationNames(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const file = path.join(MIGRATIONS_DIR, name + EXTENSION);
    const module: unknown = await import(pathToFileURL(file).href);
    if (!isMigration(module)) throw new Error(`${file}: a migration exports up(knex) and down(knex)`);
    return module;
  },
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
