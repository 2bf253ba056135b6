/**
 * The initial schema: twelve tables, their `<table>_history` twins, and the triggers that keep
 * one history row per version. Forward-only: there is no down migration.
 *
 * Every statement is its own query: the embedded PGlite takes one statement per query.
 */
import type { Knex } from 'knex';

type Builder = Knex.CreateTableBuilder;

/** hash, created_at, updated_at, deleted_at: the bookkeeping every table carries. */
function bookkeeping(t: Builder, knex: Knex): void {
  // Not unique: two rows with identical content (two cars with the same result) must coexist.
  t.text('hash').notNullable();
  t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  t.timestamp('deleted_at', { useTz: true }).nullable();
}

/** The tables, their keys, and the columns of each in declaration order. */
const KEYS: Record<string, string[]> = {
  series: ['uuid'],
  seasons: ['uuid'],
  venues: ['uuid'],
  countries: ['uuid'],
  events: ['uuid'],
  sessions: ['uuid'],
  drivers: ['uuid'],
  teams: ['uuid'],
  entries: ['session_uuid', 'car_number'],
  entry_drivers: ['session_uuid', 'car_number', 'driver_uuid'],
  classifications: ['session_uuid', 'car_number'],
  retirements: ['session_uuid', 'car_number'],
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('series', (t) => {
    t.uuid('uuid').primary();
    t.text('name');
    t.text('short_name');
    t.text('short_code');
    t.text('category');
    bookkeeping(t, knex);
  });
  await knex.schema.createTable('seasons', (t) => {
    t.uuid('uuid').primary();
    t.uuid('series_uuid').notNullable().references('uuid').inTable('series');
    t.text('name');
    t.integer('year');
    t.integer('end_year');
    t.text('status');
    bookkeeping(t, knex);
    t.index(['series_uuid']);
  });
  await knex.schema.createTable('venues', (t) => {
    t.uuid('uuid').primary();
    // The venue's picture is its circuit layout of one season: it lives on events (venue_picture).
    t.text('name');
    t.text('short_name');
    t.text('short_code');
    bookkeeping(t, knex);
  });
  await knex.schema.createTable('countries', (t) => {
    t.uuid('uuid').primary();
    t.text('name');
    t.text('picture');
    bookkeeping(t, knex);
  });
  await knex.schema.createTable('events', (t) => {
    t.uuid('uuid').primary();
    t.uuid('season_uuid').notNullable().references('uuid').inTable('seasons');
    t.uuid('venue_uuid').notNullable().references('uuid').inTable('venues');
    t.uuid('country_uuid').notNullable().references('uuid').inTable('countries');
    t.text('name');
    t.text('short_name');
    t.text('short_code');
    t.text('status');
    t.text('venue_picture');
    t.date('start_date');
    t.timestamp('start_time_utc', { useTz: true });
    t.date('end_date');
    t.timestamp('end_time_utc', { useTz: true });
    bookkeeping(t, knex);
    t.index(['season_uuid']);
  });
  await knex.schema.createTable('sessions', (t) => {
    t.uuid('uuid').primary();
    t.uuid('event_uuid').notNullable().references('uuid').inTable('events');
    t.text('name');
    t.text('short_name');
    t.text('short_code');
    t.text('status');
    t.boolean('has_results');
    // startTime/endTime are local wall-clock times sent as if UTC: no time zone is the truth.
    t.timestamp('start_time', { useTz: false });
    t.timestamp('start_time_utc', { useTz: true });
    t.timestamp('end_time', { useTz: false });
    t.timestamp('end_time_utc', { useTz: true });
    bookkeeping(t, knex);
    t.index(['event_uuid']);
  });
  await knex.schema.createTable('drivers', (t) => {
    t.uuid('uuid').primary();
    t.text('name');
    t.text('first_name');
    t.text('last_name');
    t.text('short_code');
    t.text('colour');
    t.text('picture');
    bookkeeping(t, knex);
  });
  await knex.schema.createTable('teams', (t) => {
    t.uuid('uuid').primary();
    bookkeeping(t, knex);
  });
  await knex.schema.createTable('entries', (t) => {
    t.uuid('session_uuid').notNullable().references('uuid').inTable('sessions');
    t.text('car_number').notNullable();
    t.uuid('team_uuid').notNullable().references('uuid').inTable('teams');
    t.text('team_name');
    t.text('team_colour');
    t.text('team_picture');
    t.text('team_car_icon');
    bookkeeping(t, knex);
    t.primary(['session_uuid', 'car_number']);
    t.index(['team_uuid']);
  });
  await knex.schema.createTable('entry_drivers', (t) => {
    t.uuid('session_uuid').notNullable();
    t.text('car_number').notNullable();
    t.uuid('driver_uuid').notNullable().references('uuid').inTable('drivers');
    t.integer('position').notNullable();
    bookkeeping(t, knex);
    t.primary(['session_uuid', 'car_number', 'driver_uuid']);
    t.foreign(['session_uuid', 'car_number']).references(['session_uuid', 'car_number']).inTable('entries');
    t.index(['driver_uuid']);
  });
  await knex.schema.createTable('classifications', (t) => {
    t.uuid('session_uuid').notNullable();
    t.text('car_number').notNullable();
    t.uuid('nationality_uuid').notNullable().references('uuid').inTable('countries');
    t.integer('finish_position');
    t.integer('grid_position');
    t.integer('laps');
    t.double('points');
    t.double('time_ms');
    t.text('classified_status');
    t.double('avg_lap_speed');
    t.double('fastest_lap_time_ms');
    t.double('gap_time_to_lead_ms');
    t.double('gap_time_to_next_ms');
    t.integer('gap_laps_to_lead');
    t.integer('gap_laps_to_next');
    t.integer('best_lap');
    t.double('best_time_ms');
    t.boolean('best_fastest');
    t.double('best_speed');
    bookkeeping(t, knex);
    t.primary(['session_uuid', 'car_number']);
    t.foreign(['session_uuid', 'car_number']).references(['session_uuid', 'car_number']).inTable('entries');
  });
  await knex.schema.createTable('retirements', (t) => {
    t.uuid('session_uuid').notNullable().references('uuid').inTable('sessions');
    t.text('car_number').notNullable();
    t.uuid('driver_uuid').notNullable().references('uuid').inTable('drivers');
    t.text('reason');
    t.text('type');
    t.boolean('dns');
    t.integer('lap');
    t.text('details');
    bookkeeping(t, knex);
    t.primary(['session_uuid', 'car_number']);
  });

  for (const [table, key] of Object.entries(KEYS)) await createHistory(knex, table, key);
}

/**
 * `<table>_history`: the table's columns plus valid_from / valid_to (NULL = current version), and
 * AFTER triggers that close the current version and open a new one for every inserted and really
 * updated row. Unchanged rows are never updated by the sink, so they never reach the triggers.
 * The triggers are per statement, over transition tables: one set-based INSERT per statement
 * instead of a plpgsql call per row, which halves the cost of a write on the embedded database.
 */
async function createHistory(knex: Knex, table: string, key: string[]): Promise<void> {
  const history = `${table}_history`;
  await knex.raw(`CREATE TABLE ${history} (LIKE ${table})`);
  await knex.raw(`ALTER TABLE ${history} ADD COLUMN valid_from timestamptz NOT NULL, ADD COLUMN valid_to timestamptz`);
  await knex.raw(`ALTER TABLE ${history} ADD COLUMN version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`);
  // At most one open version per key: the integrity rule the triggers keep.
  await knex.raw(`CREATE UNIQUE INDEX ${history}_current ON ${history} (${key.join(', ')}) WHERE valid_to IS NULL`);
  await knex.raw(`CREATE INDEX ${history}_valid_from ON ${history} (valid_from)`);

  const columns = (
    await knex.raw<{ rows: { column_name: string }[] }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema ` +
        `= current_schema() AND table_name = ? ORDER BY ordinal_position`,
      [table],
    )
  ).rows.map((r) => r.column_name);
  const list = columns.join(', ');
  const sameKey = key.map((k) => `h.${k} = n.${k}`).join(' AND ');
  // clock_timestamp(), not the transaction's start: versions of one row stay in commit order even
  // when two crawls write it at once. One instant closes the old version and opens the new one.
  await knex.raw(`
    CREATE FUNCTION ${table}_versioning_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${history} (${list}, valid_from) SELECT ${list}, clock_timestamp() FROM new_rows;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION ${table}_versioning_update() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      changed_at timestamptz := clock_timestamp();
    BEGIN
      UPDATE ${history} h SET valid_to = changed_at FROM new_rows n WHERE ${sameKey} AND h.valid_to IS NULL;
      INSERT INTO ${history} (${list}, valid_from) SELECT ${list}, changed_at FROM new_rows;
      RETURN NULL;
    END $$`);
  await knex.raw(
    `CREATE TRIGGER ${table}_versioning_insert AFTER INSERT ON ${table} REFERENCING NEW ` +
      `TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${table}_versioning_insert()`,
  );
  await knex.raw(
    `CREATE TRIGGER ${table}_versioning_update AFTER UPDATE ON ${table} REFERENCING NEW ` +
      `TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${table}_versioning_update()`,
  );
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
