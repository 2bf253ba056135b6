/**
 * The child process that creates a new embedded data dir (see embedded.ts): `node
 * embedded-init-child.js <dir>`. Exit 0 once the cluster is there; otherwise one JSON line on
 * stderr, `{"code"?, "message"}`, and exit 1. Its memory goes back to the system when it exits.
 */
import { describeThrown, errorCode } from '../errors.js';
import { createCluster } from './embedded.js';
import { describeDbError, errnoOf } from './db.js';

const dir = process.argv[2];
try {
  if (!dir) throw new Error('no data dir given');
  await createCluster(dir);
  process.exitCode = 0;
} catch (error) {
  const code = errorCode(errnoOf(error));
  const message = error instanceof Error ? describeDbError(error) : describeThrown(error);
  process.stderr.write(`${JSON.stringify({ code: typeof code === 'string' ? code : undefined, message })}\n`);
  process.exitCode = 1;
}
