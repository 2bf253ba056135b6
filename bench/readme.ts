/**
 * `--update-readme`: writes the run's table into the README's Performance section, between
 * `<!-- PERFORMANCE -->` and `<!-- /PERFORMANCE -->` (the closing marker is added after the
 * opening one if missing), so every figure the README quotes comes from a run of the bench.
 * A `--live` run writes its own block, `<!-- PERFORMANCE-LIVE -->` … `<!-- /PERFORMANCE-LIVE -->`,
 * and leaves the default run's block alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Report } from './report.js';
import { renderMarkdown } from './table.js';

export type ReadmeBlock = 'PERFORMANCE' | 'PERFORMANCE-LIVE';

const markers = (block: ReadmeBlock) => ({ OPEN: `<!-- ${block} -->`, CLOSE: `<!-- /${block} -->` });

/** Throws unless the file has the opening marker (checked before a run, not after it). */
export function checkReadme(file: string, block: ReadmeBlock): void {
  const { OPEN, CLOSE } = markers(block);
  if (!readFileSync(file, 'utf8').includes(OPEN))
    throw new Error(`--update-readme: ${file} has no ${OPEN} marker; put one (and ${CLOSE}) where the table goes`);
}

export function updateReadme(file: string, report: Report, block: ReadmeBlock): void {
  const { OPEN, CLOSE } = markers(block);
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(OPEN);
  if (start < 0) throw new Error(`${file} has no ${OPEN} marker in its Performance section`);
  const end = text.indexOf(CLOSE, start);
  const after = end < 0 ? text.slice(start + OPEN.length) : text.slice(end + CLOSE.length);
  const table = `${OPEN}\n${renderMarkdown(report)}\n${CLOSE}`;
  writeFileSync(file, text.slice(0, start) + table + after);
}
