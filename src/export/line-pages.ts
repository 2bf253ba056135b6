/**
 * The lines of a lines query (lines.ts), read page by page, each page its lines joined by the
 * format's separator. On a server through `COPY (query) TO STDOUT` in binary format, over the pg
 * client's own connection (no extra package, as store/copy.ts does for COPY FROM): the server sends
 * every line as it is built, without waiting to be asked for the next page, and the bytes go to the
 * file as they came, never decoded into JS strings. On PGlite, whose COPY TO collects the whole
 * output in one Blob, through a cursor (cursor.ts).
 */
import { PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import type { Sql } from '../store/sql.js';
import { cursorLines } from './cursor.js';
import { LINE_COLUMN } from './lines.js';

export interface LinePage {
  /** The page's lines, joined by the separator (none before the first or after the last). */
  readonly text: string | Buffer;
  readonly lines: number;
}

/** The lines of `query` (a lines query: one text column), in order, a page at a time. */
export async function* linePages(trx: Knex.Transaction, query: Sql, separator: string): AsyncGenerator<LinePage> {
  const connection: unknown = await trx.client.acquireConnection();
  if (connection instanceof pg.Client) {
    // COPY takes no parameters: the bindings (instants, uuids, labels) are written into the text, by knex.
    const text = trx.raw(query.text, query.bindings).toQuery();
    yield* copyLines(connection, text, Buffer.from(separator, 'utf8'));
  } else if (connection instanceof PGlite) {
    for await (const lines of cursorLines(trx, query, LINE_COLUMN))
      yield { text: lines.join(separator), lines: lines.length };
  } else {
    throw new Error('export: the connection is neither a pg client nor PGlite');
  }
}

/** Lines are gathered into pages of about this many bytes (a longer line makes a page of its own). */
const PAGE_BYTES = 256 * 1024;
/** Pages read ahead of the file: past this many, the socket is paused until the file takes one. */
const PAGES_AHEAD = 4;

async function* copyLines(client: pg.Client, query: string, separator: Buffer): AsyncGenerator<LinePage> {
  const reader = new CopyLinesOut(`COPY (${query}) TO STDOUT (FORMAT binary)`, separator, client.connection.stream);
  client.query(reader);
  try {
    yield* reader.pages();
  } finally {
    // Stopped early (the file failed): the rest of the COPY still arrives, and is dropped, before the
    // connection takes the transaction's ROLLBACK.
    reader.discard();
  }
}

/** `PGCOPY\n\xff\r\n\0`: the signature opening PostgreSQL's binary COPY format, then flags and an extension length. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;

/**
 * A query object pg's Client runs like its own (it calls `submit`, then a handler per backend
 * message): sends the COPY and parses the binary tuples of its CopyData messages — per row a field
 * count (1), the line's length and its bytes — into pages. A tuple may span messages. pg reuses
 * the buffer a message is read from, so every byte kept is copied out before the handler returns.
 */
class CopyLinesOut implements pg.Submittable {
  private ready: LinePage[] = [];
  private page = Buffer.allocUnsafe(PAGE_BYTES);
  private pageBytes = 0;
  private pageLines = 0;
  /** Bytes of a tuple (or of the header) whose end is in a later message. */
  private partial: Buffer | undefined;
  private headerRead = false;
  private finished = false;
  private failure: Error | undefined;
  private dropping = false;
  private paused = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly text: string,
    private readonly separator: Buffer,
    private readonly socket: Duplex,
  ) {}

  submit(connection: pg.Connection): void {
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    if (this.dropping || this.failure) return;
    const bytes = this.partial ? Buffer.concat([this.partial, message.chunk]) : message.chunk;
    this.partial = undefined;
    let at = 0;
    if (!this.headerRead) {
      if (bytes.length < HEADER_BYTES) {
        this.partial = Buffer.from(bytes);
        return;
      }
      if (!bytes.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
        this.fail(new Error('export: COPY sent no binary header'));
        return;
      }
      at = HEADER_BYTES + bytes.readUInt32BE(SIGNATURE.length + 4);
      this.headerRead = true;
    }
    while (at + 2 <= bytes.length) {
      const fields = bytes.readInt16BE(at);
      if (fields === -1) {
        at += 2; // the trailer
        continue;
      }
      if (fields !== 1) {
        this.fail(new Error(`export: COPY sent a row of ${fields} fields, not 1`));
        return;
      }
      if (at + 6 > bytes.length) break;
      const length = bytes.readInt32BE(at + 2);
      if (length < 0) {
        this.fail(new Error('export: COPY sent a NULL line'));
        return;
      }
      if (at + 6 + length > bytes.length) break;
      this.add(bytes, at + 6, at + 6 + length);
      at += 6 + length;
    }
    if (at < bytes.length) this.partial = Buffer.from(bytes.subarray(at));
  }

  /** Copies one line into the page, after the separator, starting a new page when it would not fit. */
  private add(bytes: Buffer, start: number, end: number): void {
    const needed = (this.pageLines ? this.separator.length : 0) + end - start;
    if (this.pageLines && this.pageBytes + needed > this.page.length) this.endPage();
    if (this.pageLines) this.pageBytes += this.separator.copy(this.page, this.pageBytes);
    else if (end - start > this.page.length) this.page = Buffer.allocUnsafe(end - start);
    this.pageBytes += bytes.copy(this.page, this.pageBytes, start, end);
    this.pageLines++;
  }

  private endPage(): void {
    if (!this.pageLines) return;
    this.ready.push({ text: this.page.subarray(0, this.pageBytes), lines: this.pageLines });
    this.page = Buffer.allocUnsafe(PAGE_BYTES);
    this.pageBytes = 0;
    this.pageLines = 0;
    if (this.ready.length >= PAGES_AHEAD && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.notify();
  }

  private fail(error: Error): void {
    this.failure = error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** The pages as they are completed, until the COPY ends; its error, if it fails. */
  async *pages(): AsyncGenerator<LinePage> {
    for (;;) {
      if (this.failure) throw this.failure;
      const page = this.ready.shift();
      if (page) {
        if (this.ready.length < PAGES_AHEAD) this.resume();
        yield page;
      } else if (this.finished) {
        return;
      } else {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    }
  }

  /** Drops what is left to arrive, and lets it arrive. */
  discard(): void {
    this.dropping = true;
    this.ready = [];
    this.resume();
  }

  handleCommandComplete(): void {
    if (this.partial && !this.failure) this.fail(new Error('export: COPY ended inside a row'));
    this.endPage();
  }

  handleError(error: Error): void {
    this.fail(error);
  }

  handleReadyForQuery(): void {
    this.finished = true;
    this.resume();
    this.notify();
  }

  // Messages a COPY TO does not receive; pg calls them only for other statements.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
}
