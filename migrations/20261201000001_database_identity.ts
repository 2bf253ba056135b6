/**
 * `database_identity`: one row holding a random uuid the database keeps for its lifetime, written
 * once, here. A crawl records the id of the database it writes to (src/crawl/queue.ts CrawlState),
 * so a resume can tell that `<storage>/db` was deleted, or that --db names another database, and
 * rebuild its queue from what this one holds instead of trusting requests whose parent rows are
 * not there. See src/store/identity.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('database_identity', (t) => {
    // A one-row table: the key can only be true.
    t.boolean('singleton').primary().defaultTo(true);
    t.uuid('id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE database_identity ADD CONSTRAINT database_identity_one_row CHECK (singleton)');
  await knex('database_identity').insert({ id: randomUUID() });
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
