/**
 * The folder an export writes into. Never `/`, the home folder, the storage dir, the embedded
 * database's dir, a folder inside either, or a folder holding either of those: an export there would mix its files into
 * something else's, or (re-exporting) remove files it takes for its own. A non-empty folder is
 * written only when it holds an export already (a manifest.json of ours) or with --force: files
 * that merely carry an export's names (results.csv, drivers.json) may well be the user's own. Before
 * writing, the previous export's files go, so the new manifest describes exactly the files present; with
 * --force in someone else's folder nothing of theirs is removed (a file of the same name is replaced).
 * While an export writes, a marker file (UNFINISHED_MARKER) says the folder is an export's: one that
 * dies before its manifest is written leaves it, and the next export takes the folder for its own
 * and removes the dead one's files (with or without --force).
 */
import { type Dirent, existsSync, realpathSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { EXPORT_FORMATS, type DbTarget, type ExportFormat } from '../config.js';
import { checkCreatable, ensureDir } from '../ensure-dir.js';
import { UserError, errorCode } from '../errors.js';
import { DATASETS } from './datasets.js';
import { MANIFEST_FILE } from './manifest.js';
import { datasetFile } from './writer.js';
import { isObject } from '../record.js';

export interface OutDirOptions {
  readonly storageDir: string;
  readonly db: DbTarget;
  readonly force: boolean;
}

/** Every file name an export writes, in any format, and its `.partial` while being written. */
const EXPORT_FILES: ReadonlySet<string> = new Set(
  DATASETS.flatMap(({ name }) =>
    EXPORT_FORMATS.flatMap((format: ExportFormat) => [
      datasetFile(name, format),
      `${datasetFile(name, format)}.partial`,
    ]),
  ),
);

/** Written before an export touches its folder, removed once its manifest is written. */
export const UNFINISHED_MARKER = '.export-unfinished';

/** What an export found in its folder and may remove: the previous export's files, or nothing. */
export interface OutDirPlan {
  readonly dir: string;
  /** Files of a previous export (or of a failed one) to remove before writing, manifest first. */
  readonly previous: readonly string[];
  /** The folder holds the files of an export that died before writing its manifest. */
  readonly unfinished: boolean;
}

/**
 * Checks `outDir` without changing anything: throws a one-line UserError when it is refused.
 * Run before the database is opened, so a mistaken --out is the first thing said.
 */
export async function inspectOutDir(outDir: string, options: OutDirOptions): Promise<OutDirPlan> {
  refuseSpecialFolders(outDir, options);
  let listing: Dirent[];
  try {
    listing = await readdir(outDir, { withFileTypes: true });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') {
      // Said now, before the database is opened; created in clearOutDir.
      checkCreatable(outDir, '--out');
      return { dir: outDir, previous: [], unfinished: false };
    }
    // The folder itself or a folder above it is a file: checkCreatable says which.
    if (code === 'ENOTDIR') checkCreatable(outDir, '--out');
    throw error;
  }
  const entries = listing.map((entry) => entry.name);
  // A folder is never an export's file, whatever its name.
  const exportFiles = listing
    .filter((entry) => !entry.isDirectory() && EXPORT_FILES.has(entry.name))
    .map((entry) => entry.name);
  const manifest = entries.includes(MANIFEST_FILE) ? await isOwnManifest(path.join(outDir, MANIFEST_FILE)) : false;
  const unfinished = entries.includes(UNFINISHED_MARKER) && (await isOwnMarker(path.join(outDir, UNFINISHED_MARKER)));
  const ours = manifest || unfinished;
  if (entries.length && !ours && !options.force) {
    const others = [...entries].sort();
    const named = others.slice(0, 3).join(', ') + (others.length > 3 ? `, … ${others.length} in all` : '');
    throw new UserError(
      `--out ${outDir} is not empty and holds no export (${named}): choose ` +
        `an empty or new folder, or pass --force to write among those files`,
    );
  }
  // With --force in someone else's folder nothing is removed: a file of an export's name is replaced when written.
  return { dir: outDir, previous: ours ? [...(manifest ? [MANIFEST_FILE] : []), ...exportFiles] : [], unfinished };
}

/**
 * Creates the folder, marks it as an export's until finishOutDir, and removes the previous
 * export's files, the manifest first: without it the folder claims no complete export.
 */
export async function clearOutDir({ dir, previous }: OutDirPlan): Promise<void> {
  ensureDir(dir, '--out');
  // First: an export killed from here on leaves a folder the next one knows for an export's.
  await writeFile(
    path.join(dir, UNFINISHED_MARKER),
    `${JSON.stringify({ unfinishedExport: true, startedAt: new Date().toISOString(), pid: process.pid })}\n`,
  );
  for (const file of previous) await rm(path.join(dir, file), { force: true });
}

/** The export is whole (its manifest written): the folder no longer needs the marker. */
export async function finishOutDir({ dir }: OutDirPlan): Promise<void> {
  await rm(path.join(dir, UNFINISHED_MARKER), { force: true });
}

function refuseSpecialFolders(outDir: string, { storageDir, db }: OutDirOptions): void {
  const out = canonical(outDir);
  const refuse = (what: string) => {
    throw new UserError(`refusing to export into ${outDir}: it is ${what}; choose a folder of its own (--out)`);
  };
  if (out === path.parse(out).root) refuse('the root of the filesystem');
  if (out === canonical(homedir())) refuse('your home folder');
  const guarded: [string, string][] = [[canonical(storageDir), 'the storage dir']];
  if (db.kind === 'embedded') guarded.push([canonical(db.dir), 'the embedded database dir']);
  for (const [dir, name] of guarded) {
    if (out === dir) refuse(`${name} (${dir})`);
    if (dir.startsWith(out + path.sep)) refuse(`a folder holding ${name} (${dir})`);
    // Inside it, the export's files would mix with the crawl's (a cache store, the database's files).
    if (out.startsWith(dir + path.sep)) refuse(`inside ${name} (${dir})`);
  }
}

/** The absolute path with symlinks resolved as far as it exists (a link to / is /). */
function canonical(dir: string): string {
  const absolute = path.resolve(dir);
  let existing = absolute;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    return path.join(realpathSync(existing), path.relative(existing, absolute));
  } catch {
    return absolute;
  }
}

/** The marker clearOutDir writes, not a file of the same name of someone else's. */
async function isOwnMarker(file: string): Promise<boolean> {
  try {
    const marker: unknown = JSON.parse(await readFile(file, 'utf8'));
    return isObject(marker) && marker.unfinishedExport === true;
  } catch {
    return false;
  }
}

/** A manifest.json this program wrote: its format and datasets are ours. Anything else is someone else's file. */
async function isOwnManifest(file: string): Promise<boolean> {
  try {
    const manifest: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!isObject(manifest)) return false;
    const { format, datasets, exportedAt } = manifest;
    return (
      typeof exportedAt === 'string' &&
      EXPORT_FORMATS.some((known) => known === format) &&
      isObject(datasets) &&
      Object.values(datasets).every((d: unknown) => isObject(d) && EXPORT_FILES.has(String(d.file)))
    );
  } catch {
    return false;
  }
}
