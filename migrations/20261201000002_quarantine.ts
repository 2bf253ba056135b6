/**
 * `quarantine`: the list items the crawler dropped from a payload it otherwise stored (an item
 * that broke its schema, or a differing duplicate), one row per item. A payload with any such row
 * is an incomplete scope: the session whose classification lost a car, the season whose calendar
 * lost an event, the series whose season list lost a season, or the series list itself. The sink
 * writes these rows in the transaction that writes the payload's rows, and a later payload of the
 * same target closes those it no longer has (a clean one closes all), so the stored rows and what
 * is known to be missing from them never disagree. See src/store/quarantine.ts.
 *
 * No `_history` twin and no triggers: a row is its own history. It is open (cleared_at NULL) while
 * the item is missing and closed, never deleted, once a payload holds it again, so an --as-of
 * export knows what was incomplete then with one interval test (first_seen, cleared_at), the same
 * way it reads the history tables.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('quarantine', (t) => {
    t.bigIncrements('id').primary();
    // `<label>-<uuid>` (`series-all` for the series list): the request the item was dropped from.
    t.text('target_key').notNullable();
    t.text('pointer').notNullable();
    t.text('label').notNullable();
    // The uuid in the request path: the series, season or session whose list is incomplete.
    t.uuid('parent_uuid').nullable();
    t.text('url').notNullable();
    t.text('item_id').nullable();
    t.text('reason').notNullable();
    t.timestamp('first_seen', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // When a payload of the target stopped missing the item; NULL while it is missing.
    t.timestamp('cleared_at', { useTz: true }).nullable();
    t.index(['parent_uuid']);
  });
  // One open row per item of a target: the key a re-quarantined item is updated by.
  await knex.raw('CREATE UNIQUE INDEX quarantine_open ON quarantine (target_key, pointer) WHERE cleared_at IS NULL');
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
