/**
 * SQL composed from fragments with its bindings travelling alongside, so a query assembled from
 * reusable parts (the rows of a table as of an instant, the sessions within the filters…) binds
 * every value instead of splicing it into the text. Values become knex `?` placeholders.
 */
import type { Knex } from 'knex';
import { columnTypes, keyColumns, type TableName } from './tables.js';

export interface Sql {
  readonly text: string;
  readonly bindings: readonly Knex.RawBinding[];
}

/** A fragment to splice, or a value to bind (an array binds as one PostgreSQL array). */
type Part = Sql | Knex.RawBinding | readonly (string | number)[];

function isSql(value: unknown): value is Sql {
  return typeof value === 'object' && value !== null && 'text' in value && 'bindings' in value;
}

/** `sql\`… ${fragment} … ${value} …\``: fragments are spliced, other values bound. */
export function sql(strings: TemplateStringsArray, ...parts: Part[]): Sql {
  let text = strings[0]!;
  const bindings: Knex.RawBinding[] = [];
  parts.forEach((part, i) => {
    if (isSql(part)) {
      text += part.text;
      bindings.push(...part.bindings);
    } else {
      text += '?';
      // why: a readonly array binds as one PostgreSQL array too; knex's types name only mutable ones.
      bindings.push(part as Knex.RawBinding);
    }
    text += strings[i + 1]!;
  });
  return { text, bindings };
}

/** Trusted text (identifiers and SQL written in this code base), never user input. */
export function raw(text: string): Sql {
  return { text, bindings: [] };
}

export function join(parts: readonly Sql[], separator: string): Sql {
  return { text: parts.map((p) => p.text).join(separator), bindings: parts.flatMap((p) => p.bindings) };
}

/** ORDER BY the table's key. Text keys compare bytewise (COLLATE "C") so every server sorts alike. */
export function keyOrder(table: TableName, alias: string): Sql {
  const types = columnTypes(table);
  return raw(
    keyColumns(table)
      .map((k) => `${alias}.${k}${types[k] === 'text' ? ' COLLATE "C"' : ''}`)
      .join(', '),
  );
}
