/**
 * `npm run gen:cluster-template`: remakes assets/embedded-cluster.br, the empty embedded data dir
 * new databases are unpacked from (src/store/cluster-template.ts), with the installed PGlite and
 * the embedded settings of DEFAULTS. Run it after upgrading PGlite (a test says when).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGLITE_VERSION, packCluster } from '../src/store/cluster-template.js';
import { PACKAGE_ROOT } from '../src/paths.js';

const CLUSTER_TEMPLATE = path.join(PACKAGE_ROOT, 'assets', 'embedded-cluster.br');
import { createCluster } from '../src/store/embedded.js';

const dir = mkdtempSync(path.join(tmpdir(), 'msc-cluster-template-'));
try {
  await createCluster(dir);
  const packed = packCluster(dir);
  mkdirSync(path.dirname(CLUSTER_TEMPLATE), { recursive: true });
  writeFileSync(CLUSTER_TEMPLATE, packed);
  console.log(`${CLUSTER_TEMPLATE}: PGlite ${PGLITE_VERSION}, ${packed.length} bytes`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
