/**
 * Writes a dataset to its file as it is read: `.json` is one JSON array with one object per line,
 * `.ndjson` one object per line, `.csv` a header row and one record per row (see csv.ts). Pages are
 * pulled only as fast as the file takes them (pipeline's backpressure), and the file appears under its
 * name only once complete: a failed export leaves the previous file (or none), never a truncated one.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExportFormat } from '../config.js';
import { csvRecord } from './csv.js';

export function datasetFile(name: string, format: ExportFormat): string {
  return `${name}.${format}`;
}

/**
 * Writes every row of `pages` to `file`; returns how many rows it wrote. `columns` (the query's, in
 * order) make the CSV header and the order of its fields; JSON keeps each row's own key order.
 */
export async function writeDataset(
  file: string,
  format: ExportFormat,
  pages: AsyncIterable<readonly Record<string, unknown>[]>,
  columns: readonly string[],
): Promise<number> {
  let rows = 0;
  async function* encode(): AsyncGenerator<string> {
    if (format === 'csv') {
      yield csvRecord(columns);
      for await (const page of pages) {
        if (!page.length) continue;
        yield page.map((row) => csvRecord(columns.map((column) => row[column]))).join('');
        rows += page.length;
      }
      return;
    }
    if (format === 'json') yield '[';
    for await (const page of pages) {
      if (!page.length) continue;
      const lines = page.map((row) => JSON.stringify(row)).join(format === 'json' ? ',\n' : '\n');
      yield format === 'json' ? (rows ? ',\n' : '\n') + lines : `${lines}\n`;
      rows += page.length;
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
