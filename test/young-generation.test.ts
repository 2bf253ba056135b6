import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * In a node of its own (the flag is process-wide): imports src/young-generation-held.ts the way cli.ts
 * does, first, then loads @crawlee/core (a long synchronous stretch of CommonJS, where the young
 * generation used to grow past any cap) and keeps objects alive through many scavenges. Prints the
 * new space's size in MiB, after importing it and at the end.
 */
function newSpaceMiB(
  nodeOptions: readonly string[] = [],
  growthCap?: number | 'v8',
): { atStart: number; atEnd: number } {
  const held = JSON.stringify(pathToFileURL(path.join(ROOT, 'src/young-generation-held.ts')).href);
  const module = JSON.stringify(pathToFileURL(path.join(ROOT, 'src/young-generation.ts')).href);
  // As a crawl lets it grow again (commands/crawl.ts), then allocates in tasks, as a crawl does.
  const grow =
    growthCap === undefined
      ? ''
      : `(await import(${module})).allowYoungGenerationGrowth(${growthCap === 'v8' ? '' : growthCap});
         for (let round = 0; round < 50; round++) {
           for (let i = 0; i < 20_000; i++) kept.push({ i, s: 'y' + i });
           kept.splice(0, Math.max(0, kept.length - 100_000));
           await new Promise((resolve) => setTimeout(resolve, 1));
         }`;
  const script = `
    import v8 from 'node:v8';
    import { createRequire } from 'node:module';
    const newSpace = () =>
      v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1024 / 1024;
    await import(${held});
    const atStart = newSpace();
    createRequire(${JSON.stringify(pathToFileURL(path.join(ROOT, 'package.json')).href)})('@crawlee/core');
    const kept = [];
    for (let i = 0; i < 1e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 100_000) kept.splice(0, 50_000); }
    ${grow}
    process.stdout.write(JSON.stringify({ atStart, atEnd: newSpace() }));
  `;
  const out = execFileSync(process.execPath, [...nodeOptions, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { atStart: number; atEnd: number };
}

describe('young generation', () => {
  it('does not grow, even through module loading', () => {
    // V8's own growth takes it to 32 MiB here; the initial size is 1 MiB; loading tsx grows it
    // to 2–4 before the module runs (the compiled CLI: 1).
    const { atStart, atEnd } = newSpaceMiB();
    expect(atEnd).toBe(atStart);
    expect(atEnd).toBeLessThanOrEqual(4);
  });

  it('grows again when a crawl lets it, up to the cap it is given (one doubling past it at most)', () => {
    const capped = newSpaceMiB([], 4);
    expect(capped.atEnd).toBeGreaterThan(capped.atStart);
    expect(capped.atEnd).toBeLessThanOrEqual(2 * 2 * 4);
    expect(newSpaceMiB([], 'v8').atEnd).toBeGreaterThan(2 * 2 * 4);
  });

  it('is left alone when node is given a semi-space flag', () => {
    expect(newSpaceMiB(['--max-semi-space-size=8']).atEnd).toBeGreaterThan(4);
  });
});
