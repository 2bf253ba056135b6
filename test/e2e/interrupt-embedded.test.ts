/**
 * Ctrl-C while a first crawl creates its embedded database (a child process runs initdb, see
 * src/store/embedded.ts): the crawl stops at once with exit 130 and one line saying what the next
 * run does, never the grace deadline's "still not stopped … stuck"; it leaves no half-built
 * cluster and no lock, and the next run creates the database from the start. Both the signal to
 * the crawl alone (kill -INT) and to its whole process group (a terminal's Ctrl-C, which reaches
 * the child too).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/cli.js';
import { tempDir } from '../support/db.js';
import { cli } from '../support/inprocess.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Starting the CLI and its child on a loaded machine. */
const START_MS = 120_000;

/** The CLI in a process group of its own (as a terminal runs it), so the group can be signalled. */
function startCrawl(storage: string) {
  // Nothing listens on port 9: no request could succeed, and none is made before the database is open.
  const args = ['--import', 'tsx', 'src/cli.ts', 'crawl', '--storage', storage, '--base-url', 'http://127.0.0.1:9'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // initdb in a child (seconds), not the shipped template (a file copy too quick to interrupt).
    env: { ...process.env, NO_COLOR: '1', MSC_CLUSTER_TEMPLATE: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  );
  return { child, done };
}

describe('Ctrl-C while the embedded database is being created', () => {
  it.each([
    ['the crawl alone', false],
    ['its process group (a terminal Ctrl-C)', true],
  ])(
    'signalling %s: exit 130, one line on what the next run does, nothing left half-built',
    async (_, group) => {
      const storage = tempDir();
      const run = startCrawl(storage);
      try {
        await waitFor(() => existsSync(path.join(storage, 'db.creating')) || run.child.exitCode !== null, START_MS);
        expect(run.child.exitCode).toBeNull();
        process.kill(group ? -run.child.pid! : run.child.pid!, 'SIGINT');
        const { code, stderr } = await run.done;
        expect(code, stderr).toBe(130);
        expect(stderr.trim().split('\n')).toEqual([
          expect.stringMatching(/^WARN SIGINT: stopping: /),
          `WARN interrupted while creating the embedded database ${path.join(storage, 'db')}: ` +
            'nothing was created or fetched; the next run creates it from the start',
        ]);
        // No cluster half-built, no lock left: at most the empty folder the database will go in.
        const left = readdirSync(storage).filter((entry) => entry.startsWith('db'));
        expect(left).toEqual(['db']);
        expect(readdirSync(path.join(storage, 'db'))).toEqual([]);
      } finally {
        run.child.kill('SIGKILL');
      }
      const next = await cli(['migrate', '--storage', storage]);
      expect(next.code, next.stderr).toBe(0);
      expect(existsSync(path.join(storage, 'db', 'PG_VERSION'))).toBe(true);
    },
    2 * START_MS,
  );
});
