/**
 * The identity of a database: the uuid its `database_identity` row holds, written once when it
 * was migrated (migrations/20261201000001_database_identity.ts). A database deleted and created
 * again, or another database, has another id.
 */
import type { Db } from './db.js';

export async function databaseId(db: Db): Promise<string> {
  const row = await db('database_identity').first<{ id: string } | undefined>('id');
  if (!row) throw new Error('the database has no identity row: run migrate');
  return row.id;
}
