/** `migrate`: apply pending migrations to the database (crawl does this too). */
import { describeDb, type CommonConfig } from '../config.js';
import type { Logger } from '../log.js';
import { openDb } from '../store/db.js';
import { migrateLatest } from '../store/migrate.js';

export async function runMigrate(config: CommonConfig, log: Logger): Promise<string[]> {
  const db = await openDb(config.db);
  try {
    const applied = await migrateLatest(db);
    log.info(applied.length ? `applied ${applied.join(', ')} to ${describeDb(config.db)}` : `${describeDb(config.db)} is up to date`);
    return applied;
  } finally {
    await db.destroy();
  }
}
