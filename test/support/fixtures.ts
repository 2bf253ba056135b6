/** The recorded API responses the replica serves, read for tests that need payloads directly. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Label, PayloadByLabel } from '../../src/api/endpoints.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../replica/fixtures/', import.meta.url));

/** Every recorded payload of an endpoint, with the UUID of its request path. */
export function recorded<L extends Label>(label: L): { uuid: string; payload: PayloadByLabel[L]; text: string }[] {
  const dir = path.join(FIXTURES_DIR, label);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      return { uuid: file.replace(/\.json$/, ''), payload: JSON.parse(text) as PayloadByLabel[L], text };
    });
}

/** The one recorded payload of an endpoint whose request UUID is `uuid`. */
export function recordedOne<L extends Label>(label: L, uuid: string): PayloadByLabel[L] {
  const found = recorded(label).find((r) => r.uuid === uuid);
  if (!found) throw new Error(`no recorded ${label} for ${uuid}`);
  return structuredClone(found.payload);
}
