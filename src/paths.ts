import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (where schemas/ lives), found by walking up from this module: the same
 * code runs from src/ under tsx and vitest, and from dist/src/ once built.
 */
export const PACKAGE_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`motorsport-crawler: package.json not found above ${import.meta.url}`);
    dir = parent;
  }
  return dir;
})();

export const SCHEMAS_DIR = path.join(PACKAGE_ROOT, 'schemas');
