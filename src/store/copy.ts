/**
 * `COPY table (columns) FROM …` in PostgreSQL's text format, inside a knex transaction, on either
 * driver: on a server through the pg client's own COPY sub-protocol (CopyData messages on the
 * transaction's connection, no extra package), on PGlite from a Blob (`FROM '/dev/blob'`). COPY
 * fires the table's triggers as an INSERT does, the statement-level ones with their transition
 * tables included.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Cell } from './tables.js';

/** Encoded rows are sent in messages of about this size (the server reads CopyData of any size). */
const CHUNK_BYTES = 1 << 20;

/** Characters a text-format field escapes. */
const SPECIAL = /[\\\t\n\r]/;

/** One field of a text-format line: \N for null, true/false, numbers as JavaScript prints them, text escaped. */
function field(value: Cell): string {
  if (value === null) return '\\N';
  // 'true'/'false', as the drivers bind a boolean: the same text whatever the column's type.
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  // Most texts hold nothing to escape: tested first, as the replace with a callback costs more.
  if (!SPECIAL.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** The rows as text-format lines, in pieces of about CHUNK_BYTES characters. */
function* encode(rows: Iterable<readonly Cell[]>): Generator<string> {
  let piece = '';
  for (const row of rows) {
    let line = field(row[0]!);
    for (let i = 1; i < row.length; i++) line += `\t${field(row[i]!)}`;
    piece += `${line}\n`;
    if (piece.length >= CHUNK_BYTES) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}

function copyStatement(table: string, columns: readonly string[], source: string): string {
  return `COPY ${table} (${columns.join(', ')}) FROM ${source}`;
}

/**
 * COPYs `rows` (values in `columns` order) into `table` on the transaction's connection; returns the
 * rows the server reports. A row the table refuses fails the statement, and with it the transaction.
 */
export async function copyInto(
  trx: Knex.Transaction,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly Cell[]>,
): Promise<number> {
  const connection: unknown = await trx.client.acquireConnection();
  if (connection instanceof PGlite) {
    const blob = new Blob([...encode(rows)]);
    const result = await connection.query(copyStatement(table, columns, `'/dev/blob'`), [], { blob });
    return result.affectedRows ?? 0;
  }
  if (connection instanceof pg.Client) {
    const wire = connection.connection;
    if (!canCopy(wire)) throw new Error('COPY: this pg client cannot send COPY data');
    const text = copyStatement(table, columns, 'STDIN');
    return new Promise((resolve, reject) =>
      connection.query(new CopyFromStdin(text, wire, encode(rows), resolve, reject)),
    );
  }
  throw new Error('COPY: the connection is neither a pg client nor PGlite');
}

/** The methods pg's Connection has for COPY FROM STDIN, which its typings leave out. */
interface CopySending {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

function canCopy(connection: pg.Connection): connection is pg.Connection & CopySending {
  return ['sendCopyFromChunk', 'endCopyFrom', 'sendCopyFail'].every(
    (name) => typeof Reflect.get(connection, name) === 'function',
  );
}

/**
 * A query object pg's Client runs like its own (it calls `submit`, then a handler per backend
 * message): sends the statement, answers CopyInResponse with the data, waiting for the socket to
 * drain between pieces so a large COPY does not buffer in memory, then CopyDone.
 */
class CopyFromStdin implements pg.Submittable {
  private copied = 0;
  private failure: Error | undefined;

  constructor(
    private readonly text: string,
    private readonly wire: pg.Connection & CopySending,
    private readonly pieces: Iterator<string>,
    private readonly resolve: (rows: number) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  submit(connection: pg.Connection): void {
    connection.query(this.text);
  }

  /** The connection pg passes here is `wire`, the client's own, checked for the COPY methods beforehand. */
  handleCopyInResponse(): void {
    const connection = this.wire;
    const send = (): void => {
      // The server failed the COPY: its ReadyForQuery may come before the socket drains, and a piece
      // sent after it would be taken for data of the connection's next COPY.
      if (this.failure) return;
      try {
        for (let next = this.pieces.next(); !next.done; next = this.pieces.next()) {
          if (this.failure) return;
          connection.sendCopyFromChunk(Buffer.from(next.value, 'utf8'));
          if (connection.stream.writableNeedDrain) {
            connection.stream.once('drain', send);
            return;
          }
        }
        connection.endCopyFrom();
      } catch (error) {
        // The server ends the COPY with an error message, which settles this query.
        connection.sendCopyFail(error instanceof Error ? error.message : 'COPY data could not be encoded');
      }
    };
    send();
  }

  handleCommandComplete(message: { text?: string }): void {
    this.copied = Number(/^COPY (\d+)/.exec(message.text ?? '')?.[1] ?? 0);
  }

  handleError(error: Error): void {
    this.failure = error;
    this.reject(error);
  }

  handleReadyForQuery(): void {
    if (!this.failure) this.resolve(this.copied);
  }

  // Messages a COPY FROM does not receive; pg calls them only for other statements.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}
