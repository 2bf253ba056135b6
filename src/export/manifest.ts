/**
 * manifest.json: what an export holds and where it came from. Written last: its presence means the export is complete.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CrawlScope, ExportFormat } from '../config.js';
import type { DatasetName } from './datasets.js';
import type { IncompleteScope } from './incomplete.js';

export const MANIFEST_FILE = 'manifest.json';

export interface Manifest {
  /** When the export ran. */
  readonly exportedAt: string;
  /** The instant the data is as of; null: the data as it was at exportedAt. */
  readonly asOf: string | null;
  readonly format: ExportFormat;
  readonly filters: {
    readonly series: readonly string[];
    readonly fromYear: number | null;
    readonly toYear: number | null;
  };
  /** The database read (passwords redacted). */
  readonly database: string;
  readonly datasets: { readonly [D in DatasetName]: { readonly file: string; readonly rows: number } };
  /**
   * The scopes among the exported rows whose payload lost items (quarantined), with those items:
   * the rows marked `incomplete`, and the series list; as of the export's instant.
   */
  readonly incomplete: readonly IncompleteScope[];
}

export function manifestFilters(scope: CrawlScope): Manifest['filters'] {
  return { series: scope.series, fromYear: scope.fromYear ?? null, toYear: scope.toYear ?? null };
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
