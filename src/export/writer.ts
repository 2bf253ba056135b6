/**
 * Writes a dataset to its file as it is read: `.json` is one JSON array with one object per line,
 * `.ndjson` one object per line, `.csv` a header row and one record per row (see csv.ts), each line
 * as the database built it (lines.ts). Pages are pulled only as fast as the file takes them
 * (pipeline's backpressure), and the file appears under its name only once complete: a failed
 * export leaves the previous file (or none), never a truncated one.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExportFormat } from '../config.js';
import { CSV_LINE_END, csvRecord } from './csv.js';
import type { LinePage } from './line-pages.js';

export function datasetFile(name: string, format: ExportFormat): string {
  return `${name}.${format}`;
}

/** How each format separates the lines of its rows. */
export const LINE_SEPARATOR: { readonly [F in ExportFormat]: string } = {
  json: ',\n',
  ndjson: '\n',
  csv: CSV_LINE_END,
};

/**
 * Writes the lines of `pages` (each page its lines joined by the format's LINE_SEPARATOR) to
 * `file`; returns how many rows it wrote. `columns` (the dataset's, in order) make the CSV header.
 */
export async function writeDataset(
  file: string,
  format: ExportFormat,
  pages: AsyncIterable<LinePage>,
  columns: readonly string[],
): Promise<number> {
  let rows = 0;
  async function* encode(): AsyncGenerator<string | Buffer> {
    if (format === 'csv') yield csvRecord(columns);
    if (format === 'json') yield '[';
    for await (const page of pages) {
      if (!page.lines) continue;
      if (format === 'json') yield rows ? ',\n' : '\n';
      yield page.text;
      if (format !== 'json') yield LINE_SEPARATOR[format];
      rows += page.lines;
    }
    if (format === 'json') yield rows ? '\n]\n' : ']\n';
  }
  const partial = `${file}.partial`;
  try {
    // Byte mode: the readable buffers at most its 16 KiB high-water mark ahead of the file, not pages.
    await pipeline(Readable.from(encode(), { objectMode: false }), createWriteStream(partial));
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return rows;
}
