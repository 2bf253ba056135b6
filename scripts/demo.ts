/**
 * `npm run demo`: the whole job on a machine with no internet. Starts the replica of the API
 * (recorded responses), crawls it into the embedded database, prints the summary, exports the
 * datasets, then does the same with a synthetic tree. Nothing outside this project is contacted.
 *
 * The recorded crawl goes to ./storage (so `motorsport-crawler export` and `status` find it
 * without flags) unless ./storage already holds a crawl of another API, which it would damage:
 * then it goes to ./storage/demo. The synthetic crawl always has its own storage dir.
 */
import path from 'node:path';
import { resolveCrawlConfig } from '../src/commands/crawl.js';
import { resolveExportConfig } from '../src/commands/export.js';
import { runCrawl } from '../src/commands/crawl.js';
import { runExport } from '../src/commands/export.js';
import { readCrawlState } from '../src/crawl/crawl-state.js';
import { openStorageDir } from '../src/crawl/storage-dir.js';
import { formatSummary } from '../src/crawl/summary.js';
import { Logger } from '../src/log.js';
import { recordedTree, startReplica, syntheticTree, type ReplicaTree } from '../test/replica/index.js';

const log = new Logger({ level: 'info', format: 'text' });

async function storageFor(preferred: string, fallback: string): Promise<string> {
  const storage = await openStorageDir(preferred);
  try {
    const state = await readCrawlState(storage.records);
    return state && !/^http:\/\/127\.0\.0\.1[:/]/.test(state.baseUrl) ? fallback : preferred;
  } finally {
    await storage.close();
  }
}

async function demo(title: string, tree: ReplicaTree, storage: string, out: string): Promise<boolean> {
  const replica = await startReplica({ tree });
  try {
    console.log(`\n=== ${title}: replica at ${replica.url}, storage ${path.relative('.', storage) || '.'}\n`);
    const summary = await runCrawl(
      resolveCrawlConfig({ baseUrl: replica.url, storage, maxRpm: 100_000, concurrency: 16 }, {}),
      { log },
    );
    console.log(formatSummary(summary));
    const manifest = await runExport(resolveExportConfig({ storage, out }, {}), { log });
    console.log(
      `\nexported ${Object.entries(manifest.datasets)
        .map(([d, { rows }]) => `${d} ${rows}`)
        .join(', ')} to ${path.relative('.', out)}/`,
    );
    return summary.outcome === 'complete';
  } finally {
    await replica.close();
  }
}

const recordedStorage = await storageFor(path.resolve('storage'), path.resolve('storage/demo'));
const ok = [
  await demo('Recorded responses', recordedTree(), recordedStorage, path.resolve('exports')),
  await demo(
    'Synthetic tree (seed 1)',
    syntheticTree({
      seed: 1,
      series: 3,
      seasonsPerSeries: 3,
      eventsPerSeason: 6,
      sessionsPerEvent: 4,
      carsPerSession: 20,
    }),
    path.resolve('storage/demo-synthetic'),
    path.resolve('exports/synthetic'),
  ),
].every(Boolean);
console.log(
  `\nNext: motorsport-crawler status${recordedStorage.endsWith('demo') ? ' --storage storage/demo' : ''}, ` +
    `motorsport-crawler export --out exports --format ndjson, or open exports/results.json.`,
);
process.exit(ok ? 0 : 2);
