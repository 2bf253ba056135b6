/**
 * A new, empty embedded data dir, shipped with the package (assets/embedded-cluster.br) and
 * unpacked into place: creating one with PGlite's initdb peaks at ~470 MB for 5–10 s (two
 * PostgreSQL instances, each with its whole 128 MiB WebAssembly memory copied; see embedded.ts),
 * which would make the first crawl on a new machine the heaviest thing it ever does. Unpacking
 * is a file copy (~40 MB written, ~60 MB of memory for a moment).
 *
 * A cluster is tied to the PostgreSQL build that made it, so the template records the PGlite
 * version it was made with and is used only by that version; any other version creates its data
 * dir with initdb as before. `npm run gen:cluster-template` remakes it (a test fails when the
 * installed PGlite is not the template's).
 *
 * The format is ours and small: brotli over a header line of JSON (`{"pglite", "entries"}`), then
 * per entry a JSON line `{"path", "dir"?, "bytes"?}` followed by its bytes. Brotli because the
 * cluster is mostly zero-filled WAL and three copies of the same catalogs: 39 MB in, 1.3 MB out.
 */
import { readFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import { ENV_VARS } from '../config.js';
import { asResourceError, describeError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { isObject } from '../record.js';

/** The shipped template; the file the tests point MSC_CLUSTER_TEMPLATE at, if any; undefined for `none`. */
export const CLUSTER_TEMPLATE: string | undefined = (() => {
  const given = process.env[ENV_VARS.clusterTemplate];
  if (given === 'none') return undefined;
  return given || path.join(PACKAGE_ROOT, 'assets', 'embedded-cluster.br');
})();

/** The installed PGlite's version: a template made by another one is not used. */
export const PGLITE_VERSION: string = (() => {
  // Its package.json is not among its exports: found above its entry point.
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (;;) {
    const file = path.join(dir, 'package.json');
    const pkg: unknown = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
    if (isObject(pkg) && pkg.name === '@electric-sql/pglite' && typeof pkg.version === 'string') return pkg.version;
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
})();

interface Entry {
  readonly path: string;
  readonly dir?: true;
  readonly bytes?: number;
}

/** Packs the cluster in `dir` (every file and folder, empty ones included: PostgreSQL needs them). */
export function packCluster(dir: string, pgliteVersion: string = PGLITE_VERSION): Buffer {
  const parts: Buffer[] = [];
  const entries: Entry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, relPath);
      if (statSync(full).isDirectory()) {
        entries.push({ path: relPath, dir: true });
        parts.push(Buffer.from(`${JSON.stringify({ path: relPath, dir: true })}\n`));
        walk(relPath);
      } else {
        const bytes = readFileSync(full);
        entries.push({ path: relPath, bytes: bytes.length });
        parts.push(Buffer.from(`${JSON.stringify({ path: relPath, bytes: bytes.length })}\n`), bytes);
      }
    }
  };
  walk('');
  const header = Buffer.from(`${JSON.stringify({ pglite: pgliteVersion, entries: entries.length })}\n`);
  return zlib.brotliCompressSync(Buffer.concat([header, ...parts]), {
    // The three databases' folders are near copies of each other, ~7 MB apart: a 16 MiB window sees that.
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_LGWIN]: 24 },
  });
}

/**
 * Unpacks the template into `dir` (an empty folder) when there is one for the installed PGlite;
 * false when there is none (the caller then runs initdb). Throws on a damaged template.
 */
export function unpackClusterTemplate(dir: string, file: string | undefined = CLUSTER_TEMPLATE): boolean {
  if (file === undefined || !existsSync(file)) return false;
  let data: Buffer;
  try {
    data = zlib.brotliDecompressSync(readFileSync(file));
  } catch (error) {
    // A file cut short or not brotli: named, not zlib's bare "unexpected end of file".
    if (asResourceError(error, file)) throw error;
    throw new Error(`${file}: damaged cluster template (${describeError(error)})`);
  }
  let at = 0;
  const line = (): unknown => {
    const end = data.indexOf(0x0a, at);
    if (end < 0) throw new Error(`${file}: damaged cluster template (a header line is cut short)`);
    const parsed: unknown = JSON.parse(data.subarray(at, end).toString('utf8'));
    at = end + 1;
    return parsed;
  };
  const header = line();
  if (!isObject(header) || header.pglite !== PGLITE_VERSION || typeof header.entries !== 'number') return false;
  for (let i = 0; i < header.entries; i++) {
    const entry = line();
    if (!isObject(entry) || typeof entry.path !== 'string' || entry.path.split('/').includes('..'))
      throw new Error(`${file}: damaged cluster template (entry ${i + 1})`);
    const target = path.join(dir, entry.path);
    if (entry.dir === true) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    const bytes = typeof entry.bytes === 'number' ? entry.bytes : -1;
    if (bytes < 0 || at + bytes > data.length)
      throw new Error(`${file}: damaged cluster template (${entry.path} is cut short)`);
    writeFileSync(target, data.subarray(at, at + bytes));
    at += bytes;
  }
  if (at !== data.length) throw new Error(`${file}: damaged cluster template (bytes after the last entry)`);
  return true;
}
