/**
 * The `quarantine` table (migrations/20261201000002_quarantine.ts): what the crawler knows to be
 * missing from the rows it stored. Each payload written through the sink carries its quarantined
 * items, possibly none; in the same transaction as its rows they replace the target's open ones
 * (those no longer quarantined are closed: cleared_at), so a clean payload clears its target and
 * the rows and the record of what is missing from them never disagree. An item still quarantined
 * at the same pointer keeps its row and first_seen.
 */
import type { Knex } from 'knex';
import type { Label } from '../api/endpoints.js';

export const QUARANTINE_TABLE = 'quarantine';

/** A hostile payload can make an item fail in many ways at once; the first lines say enough. */
const MAX_REASON_CHARS = 2000;

/** PostgreSQL text cannot hold NUL; an id or reason taken from a hostile item may. */
function storable(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD');
}

export interface QuarantineItem {
  /** JSON pointer of the item in the served payload, e.g. `/details/3`. */
  readonly pointer: string;
  /** Its uuid or `car <number>` when readable. */
  readonly itemId: string | undefined;
  /** Why it was dropped, one line. */
  readonly reason: string;
}

/** A payload's quarantined items: empty for a clean payload, which clears its target. */
export interface PayloadQuarantine {
  /** `<label>-<uuid>`, as targetKey() makes it. */
  readonly key: string;
  readonly label: Label;
  /** The uuid in the request path (undefined for the series list). */
  readonly parentUuid: string | undefined;
  readonly url: string;
  readonly items: readonly QuarantineItem[];
}

/**
 * Replaces the quarantine rows of every target in `payloads` (the last payload of a target wins),
 * in key order like the rows, and forgets the applied body of a target written with quarantined
 * items: its rows no longer are the rows of the body recorded there, so that body, seen again,
 * must be applied again (and clear the quarantine).
 */
export async function replaceQuarantine(trx: Knex.Transaction, payloads: readonly PayloadQuarantine[]): Promise<void> {
  if (!payloads.length) return;
  const byKey = new Map(payloads.map((p) => [p.key, p]));
  const keys = [...byKey.keys()].sort();
  const items = keys.flatMap((key) => byKey.get(key)!.items.map((item) => ({ target: byKey.get(key)!, item })));
  await trx.raw(
    `UPDATE ${QUARANTINE_TABLE} SET cleared_at = now() WHERE cleared_at IS NULL AND target_key = ANY(?::text[]) ` +
      `AND (target_key, pointer) NOT IN (SELECT * FROM unnest(?::text[], ?::text[]))`,
    [keys, items.map((i) => i.target.key), items.map((i) => i.item.pointer)],
  );
  if (!items.length) return;
  // Arrays with nulls bind as PostgreSQL arrays; knex's types know only null-free ones.
  const columns: unknown[] = [
    items.map((i) => i.target.key),
    items.map((i) => i.item.pointer),
    items.map((i) => i.target.label),
    items.map((i) => i.target.parentUuid ?? null),
    items.map((i) => i.target.url),
    items.map((i) => (i.item.itemId === undefined ? null : storable(i.item.itemId))),
    items.map((i) => storable(i.item.reason).slice(0, MAX_REASON_CHARS)),
  ];
  await trx.raw(
    `INSERT INTO ${QUARANTINE_TABLE} (target_key, pointer, label, parent_uuid, url, item_id, reason) ` +
      `SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::uuid[], ?::text[], ?::text[], ?::text[]) ` +
      `ON CONFLICT (target_key, pointer) WHERE cleared_at IS NULL DO UPDATE SET label ` +
      `= EXCLUDED.label, parent_uuid = EXCLUDED.parent_uuid, url = EXCLUDED.url, ` +
      `item_id = EXCLUDED.item_id, reason = EXCLUDED.reason, last_seen = now()`,
    // why: knex's binding types know no array holding nulls; both drivers bind each as one PostgreSQL array.
    columns as Knex.RawBinding[],
  );
  const partial = keys.filter((key) => byKey.get(key)!.items.length);
  await trx.raw(`DELETE FROM applied_payloads WHERE target_key = ANY(?::text[])`, [partial]);
}
