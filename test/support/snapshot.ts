/** A database's stored content, comparable across crawls: every stored column and the hash, by key. */
import { openDb } from '../../src/store/db.js';
import type { DbTarget } from '../../src/config.js';
import { TABLES, TABLE_ORDER, columnsOf } from '../../src/store/tables.js';

export type Snapshot = Record<string, { rows: unknown[]; historyVersions: number }>;

export async function snapshot(target: DbTarget): Promise<Snapshot> {
  const db = await openDb(target);
  try {
    const out: Snapshot = {};
    for (const table of TABLE_ORDER) {
      const rows = await db(table)
        .select([...columnsOf(table), 'hash', db.raw('deleted_at IS NOT NULL AS deleted')])
        .orderBy([...TABLES[table].key]);
      const [versions] = await db(`${table}_history`).count<{ n: string }[]>({ n: '*' });
      out[table] = { rows: JSON.parse(JSON.stringify(rows)), historyVersions: Number(versions?.n) };
    }
    return out;
  } finally {
    await db.destroy();
  }
}
