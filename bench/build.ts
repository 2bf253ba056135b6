/**
 * Compiles src/ (and the bench's own child scripts) with the project's TypeScript into
 * node_modules/.cache/msc-bench, so measured crawls run as the published bin does
 * (`node dist/src/cli.js crawl`): plain node, no tsx loader thread inflating RSS or start-up.
 * Type errors are reported but do not stop the bench: tsc still emits.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT, log, tail } from './harness.js';

export interface Build {
  readonly dir: string;
  /** The crawler's CLI, as `motorsport-crawler` runs it. */
  readonly cli: string;
  readonly floorChild: string;
  readonly rssPreload: string;
  readonly seconds: number;
}

export function build(): Build {
  // One build per checkout: git worktrees sharing a node_modules must not measure each other's code.
  const checkout = createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 8);
  const dir = path.join(REPO_ROOT, 'node_modules', '.cache', `msc-bench-${checkout}`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      tsc,
      '-p',
      path.join(REPO_ROOT, 'bench', 'tsconfig.json'),
      '--outDir',
      dir,
      '--incremental',
      '--tsBuildInfoFile',
      path.join(dir, '.tsbuildinfo'),
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  const seconds = (performance.now() - started) / 1000;
  const out: Build = {
    dir,
    cli: path.join(dir, 'src', 'cli.js'),
    floorChild: path.join(dir, 'bench', 'floor-child.js'),
    rssPreload: path.join(dir, 'bench', 'rss-preload.js'),
    seconds,
  };
  if (result.status !== 0) {
    if (![out.cli, out.floorChild, out.rssPreload].every((f) => existsSync(f))) {
      throw new Error(`tsc failed to build the crawler:\n${tail(result.stdout + result.stderr)}`);
    }
    log(`warning: tsc reported errors (the build was emitted anyway):\n${tail(result.stdout + result.stderr, 8)}`);
  }
  return out;
}
