/** Finding a cached record's file on disk, whatever store it was sharded into. */
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** The file of the cache record for `key` (`<label>-<uuid>`) under `<storage>/key_value_stores`. */
export function cacheRecordFile(storage: string, key: string): string {
  const root = path.join(storage, 'key_value_stores');
  const found: string[] = [];
  for (const store of readdirSync(root)) {
    if (!store.startsWith('responses')) continue;
    for (const file of readdirSync(path.join(root, store))) if (file === `${key}.bin` || file === `${key}.txt`) found.push(path.join(root, store, file));
  }
  if (found.length !== 1) throw new Error(`expected one cache record for ${key}, found ${found.length}`);
  return found[0]!;
}
