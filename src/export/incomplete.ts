/**
 * Incomplete scopes as an export shows them, read from the `quarantine` table (see
 * src/store/quarantine.ts): an `incomplete` field on the rows whose list lost items (a series whose
 * season list, a season whose calendar, a session whose classification did) and the list of those
 * scopes with their dropped items in manifest.json.
 *
 * A quarantine row is open from first_seen until cleared_at, so an --as-of export shows what was
 * incomplete at its instant, as the history tables show the rows.
 */
import type { Knex } from 'knex';
import { LABELS, type Label } from '../api/endpoints.js';
import { QUARANTINE_TABLE } from '../store/quarantine.js';
import type { TableName } from '../store/tables.js';
import { raw, sql, type Sql } from '../store/sql.js';

/** The table whose rows are the parents of each list-bearing payload (none for the series list). */
export const PARENT_TABLE: { readonly [L in Label]: TableName | undefined } = {
  series: undefined,
  seasons: 'series',
  calendar: 'seasons',
  classification: 'sessions',
};

/** The quarantine rows open now, or at `asOf` (an ISO instant), as a derived table. */
export function openQuarantine(asOf: string | undefined): Sql {
  if (asOf === undefined) return raw(`(SELECT * FROM ${QUARANTINE_TABLE} WHERE cleared_at IS NULL)`);
  return sql`(SELECT * FROM ${raw(QUARANTINE_TABLE)} WHERE first_seen <= CAST(${asOf} AS timestamptz)
    AND (cleared_at IS NULL OR cleared_at > CAST(${asOf} AS timestamptz)))`;
}

/**
 * A boolean SQL expression: the `label` payload of the parent
 * whose uuid is `parent` had lost items (now, or at `asOf`).
 */
export function incompleteExpression(label: Label, parent: string, asOf: string | undefined): Sql {
  return sql`EXISTS (SELECT 1 FROM ${openQuarantine(asOf)} q
    WHERE q.label = ${label} AND q.parent_uuid = ${raw(parent)})`;
}

export interface IncompleteScope {
  /** The endpoint whose payload lost items. */
  readonly label: Label;
  /** The series, season or session whose list it is; null for the series list. */
  readonly parentUuid: string | null;
  readonly url: string;
  readonly items: readonly {
    readonly pointer: string;
    readonly itemId: string | null;
    readonly reason: string;
    readonly firstSeen: string;
    readonly lastSeen: string;
  }[];
}

interface QuarantineRow {
  label: Label;
  parent_uuid: string | null;
  url: string;
  pointer: string;
  item_id: string | null;
  reason: string;
  first_seen: string;
  last_seen: string;
}

/**
 * The incomplete scopes among the exported rows: the series list, and the lists of the series,
 * seasons and sessions the export holds (`within` gives their rows), in label order then parent
 * uuid order, their items in pointer order.
 */
export async function incompleteScopes(
  db: Knex | Knex.Transaction,
  within: (table: TableName) => Sql,
  asOf: string | undefined,
): Promise<IncompleteScope[]> {
  const inExport = LABELS.map((label) => {
    const parent = PARENT_TABLE[label];
    return parent
      ? sql`(q.label = ${label} AND q.parent_uuid IN (SELECT uuid FROM ${within(parent)} t))`
      : sql`q.label = ${label}`;
  });
  const condition = inExport.reduce((all, one) => sql`${all} OR ${one}`);
  const query = sql`
    SELECT q.label, q.parent_uuid, q.url, q.pointer, q.item_id, q.reason,
           to_char(q.first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS first_seen,
           to_char(q.last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_seen
    FROM ${openQuarantine(asOf)} q WHERE ${condition}
    ORDER BY q.target_key COLLATE "C", q.pointer COLLATE "C"`;
  const { rows } = await db.raw<{ rows: QuarantineRow[] }>(query.text, query.bindings);
  const byTarget = new Map<
    string,
    { label: Label; parentUuid: string | null; url: string; items: IncompleteScope['items'][number][] }
  >();
  for (const row of rows) {
    const key = `${row.label}-${row.parent_uuid ?? 'all'}`;
    const scope =
      byTarget.get(key) ??
      byTarget.set(key, { label: row.label, parentUuid: row.parent_uuid, url: row.url, items: [] }).get(key)!;
    scope.items.push({
      pointer: row.pointer,
      itemId: row.item_id,
      reason: row.reason,
      firstSeen: row.first_seen,
      lastSeen: row.last_seen,
    });
  }
  for (const scope of byTarget.values()) scope.items.sort((a, b) => comparePointers(a.pointer, b.pointer));
  return [...byTarget.values()].sort((a, b) => LABELS.indexOf(a.label) - LABELS.indexOf(b.label));
}

/** `/details/2` before `/details/10`: indexes compare as numbers. */
function comparePointers(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c =
      /^\d+$/.test(x[i]!) && /^\d+$/.test(y[i]!)
        ? Number(x[i]) - Number(y[i])
        : x[i]! < y[i]!
          ? -1
          : x[i]! > y[i]!
            ? 1
            : 0;
    if (c) return c;
  }
  return x.length - y.length;
}
