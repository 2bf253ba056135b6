import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';

/**
 * The package's root folder (where schemas/ lives), found by walking up from this module: the same
 * code runs from src/ under tsx and vitest, and from dist/src/ once built.
 */
export const PACKAGE_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('motorsport-crawler: package.json not found above ' + import.meta.url);
    dir = parent;
  }
  return dir;
})();

export const SCHEMAS_DIR = path.join(PACKAGE_ROOT, 'schemas');

/**
 * The part of `dir` that stands in the way of it being a folder: `dir` itself or the nearest
 * existing parent, when that is a file (or anything else that is not a folder). Undefined when
 * `dir` is a folder or can be made one.
 */
export function fileInTheWay(dir: string): string | undefined {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    let stats;
    try {
      stats = statSync(at, { throwIfNoEntry: false });
    } catch (error) {
      // A parent is not a folder: the loop goes on up to it.
      if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
    }
    if (stats) return stats.isDirectory() ? undefined : at;
    if (path.dirname(at) === at) return undefined;
  }
}

/**
 * Refuses a folder given as `name` (a flag or a variable) that cannot be one because it, or one
 * of its parents, is a file: the message names the flag, what was given, and the file.
 */
export function refuseFileInTheWay(name: string, dir: string): void {
  const file = fileInTheWay(dir);
  if (file === undefined) return;
  throw new UserError(file === path.resolve(dir) ? `${name} ${dir} is a file, not a folder` : `${name} ${dir}: ${file} is a file, not a folder`);
}
