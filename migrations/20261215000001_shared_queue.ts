/**
 * The shared crawl of `crawl --queue postgres` (src/crawl/shared-queue.ts): its requests are
 * pg-boss jobs (pg-boss keeps them in its own schema, `pgboss`); these tables hold what pg-boss
 * does not.
 *
 * - `shared_crawls`: one row per crawl: its filters, which pg-boss queue holds its requests, and
 *   whether it finished. Workers join the newest unfinished one.
 * - `shared_workers`: one row per running `crawl` process, with the heartbeat it renews. A worker
 *   whose heartbeat is older than the lease timeout is dead: any other worker returns its leases.
 * - `shared_leases`: which worker holds each active job. A job is active exactly while it has a
 *   lease row: both change in one transaction.
 * - `shared_rate_limits`: rate-limiter-flexible's RateLimiterPostgres table (its own layout),
 *   the one politeness limit of all the workers of a crawl.
 *
 * The embedded database gets them too (one migration list); they stay empty there.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('shared_crawls', (t) => {
    t.increments('id').primary();
    t.text('queue').notNullable();
    t.jsonb('scope').notNullable();
    t.text('base_url').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true }).nullable();
  });
  await knex.schema.createTable('shared_workers', (t) => {
    t.uuid('id').primary();
    t.integer('crawl_id').notNullable();
    t.text('host').notNullable();
    t.integer('pid').notNullable();
    t.text('storage_dir').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('heartbeat_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('shared_leases', (t) => {
    t.text('queue').notNullable();
    t.uuid('job_id').notNullable();
    t.uuid('worker_id').notNullable().index();
    t.timestamp('leased_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['queue', 'job_id']);
  });
  await knex.schema.createTable('shared_rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire').nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
