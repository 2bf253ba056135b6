/**
 * Rewrites the history trigger functions of the initial migration, keeping what they do:
 *
 * - `plan_cache_mode = force_custom_plan`: PL/pgSQL caches a generic plan for each statement
 *   after a few calls, made while the tables were nearly empty, and kept it as history grew. That
 *   plan scanned the whole current-version index on every statement: a soft delete matching no
 *   row cost ~20 ms at 48k history rows. A custom plan is made per call for the rows at hand.
 * - An empty transition table returns at once: an UPDATE that changed nothing (most soft
 *   deletes) still fires a statement-level trigger.
 *
 * The column and key lists are read from the database, as the initial migration left it.
 */
import type { Knex } from 'knex';

const TABLES = [
  'series',
  'seasons',
  'venues',
  'countries',
  'events',
  'sessions',
  'drivers',
  'teams',
  'entries',
  'entry_drivers',
  'classifications',
  'retirements',
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const table of TABLES) await replaceTriggerFunctions(knex, table);
}

async function replaceTriggerFunctions(knex: Knex, table: string): Promise<void> {
  const history = `${table}_history`;
  const columns = (
    await knex.raw<{ rows: { column_name: string }[] }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema ` +
        `= current_schema() AND table_name = ? ORDER BY ordinal_position`,
      [table],
    )
  ).rows.map((r) => r.column_name);
  const key = (
    await knex.raw<{ rows: { attname: string }[] }>(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = ?::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [table],
    )
  ).rows.map((r) => r.attname);
  if (!columns.length || !key.length) throw new Error(`table ${table}: no columns or no primary key`);

  const list = columns.join(', ');
  const sameKey = key.map((k) => `h.${k} = n.${k}`).join(' AND ');
  await knex.raw(`
    CREATE OR REPLACE FUNCTION ${table}_versioning_insert() RETURNS trigger LANGUAGE plpgsql
    SET plan_cache_mode = force_custom_plan AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
      INSERT INTO ${history} (${list}, valid_from) SELECT ${list}, clock_timestamp() FROM new_rows;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE OR REPLACE FUNCTION ${table}_versioning_update() RETURNS trigger LANGUAGE plpgsql
    SET plan_cache_mode = force_custom_plan AS $$
    DECLARE
      changed_at timestamptz := clock_timestamp();
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;
      UPDATE ${history} h SET valid_to = changed_at FROM new_rows n WHERE ${sameKey} AND h.valid_to IS NULL;
      INSERT INTO ${history} (${list}, valid_from) SELECT ${list}, changed_at FROM new_rows;
      RETURN NULL;
    END $$`);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
