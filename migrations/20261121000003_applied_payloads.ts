/**
 * `applied_payloads`: for each API target (`<label>-<uuid>`), the fingerprint of the response body
 * whose rows the database holds. Written in the transaction that writes those rows, so a crawl
 * that meets the same bytes again (a warm re-crawl from the cache, an unchanged refresh) knows
 * they are stored without writing them again. See src/crawl/applied-payloads.ts.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('applied_payloads', (t) => {
    t.text('target_key').primary();
    t.text('body_fingerprint').notNullable();
    t.timestamp('applied_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
