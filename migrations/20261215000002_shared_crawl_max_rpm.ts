/**
 * `shared_crawls.max_rpm`: the --max-rpm of the shared crawl's workers. Every worker opens the
 * shared limiter's windows at the length its own --max-rpm gives, so workers with different rates
 * would each be held to their own, not to one rate together: a worker with another --max-rpm is
 * refused, as one with other filters is (src/crawl/shared-queue.ts). Double precision because
 * "no limit" (--max-rpm 10000 or more) is stored as Infinity. NULL: a crawl started before this
 * column, whose rate is unknown; it is not checked.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('shared_crawls', (t) => {
    t.double('max_rpm').nullable();
  });
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
