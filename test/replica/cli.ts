import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { expectedCounts } from './expected.js';
import type { FaultOptions } from './faults.js';
import { recordedTree } from './recorded.js';
import { startReplica } from './server.js';
import { SYNTHETIC_DEFAULTS, syntheticTree, type SyntheticOptions } from './synthetic.js';
import type { ReplicaTree } from './tree.js';

const HELP = `Serve a replica of the motorsportstats widgets API on 127.0.0.1.

Usage: tsx test/replica/cli.ts [options]

Tree (recorded by default):
  --recorded                 the recorded corpus, filled to be crawlable end to end
  --synthetic                a generated tree, shaped by:
    --seed N                 (${SYNTHETIC_DEFAULTS.seed})
    --series N               (${SYNTHETIC_DEFAULTS.series})
    --seasons-per-series N   (${SYNTHETIC_DEFAULTS.seasonsPerSeries})
    --events-per-season N    (${SYNTHETIC_DEFAULTS.eventsPerSeason})
    --sessions-per-event N   (${SYNTHETIC_DEFAULTS.sessionsPerEvent})
    --cars-per-session N     (${SYNTHETIC_DEFAULTS.carsPerSession})
    --drivers-per-car N      1 to 4 (${SYNTHETIC_DEFAULTS.driversPerCar})
    --latest-year N          (${SYNTHETIC_DEFAULTS.latestYear})
    --current-around T       the newest season is current around T (ISO 8601, or "now"): its events
                             run from 8 weeks before T to 2 weeks after it

Validators:
  --no-validators            send no ETag/Last-Modified and never answer 304 (a server without them)

Upstream changes:
  --changed DIR              serve each JSON file under DIR in place of the tree's body of the API path
                             it is named after (DIR/widgets/1.0.0/seasons/<uuid>/calendar.json for
                             /widgets/1.0.0/seasons/<uuid>/calendar): save a body, edit it, restart

Random faults (rates in [0, 1], off by default; seeded by --seed):
  --rate500 R  --rate503 R  --rate429 R  --rate-reset R  --rate-truncate R  --rate-slow R
  --slow-ms N                delay of a slow response (250)
  --retry-after N            Retry-After seconds of a 429 (1)

  --port N                   (8787; 0 picks a free port)
  -h, --help
`;

const numberOptions = {
  seed: 'seed',
  series: 'series',
  'seasons-per-series': 'seasonsPerSeries',
  'events-per-season': 'eventsPerSeason',
  'sessions-per-event': 'sessionsPerEvent',
  'cars-per-session': 'carsPerSession',
  'drivers-per-car': 'driversPerCar',
  'latest-year': 'latestYear',
} as const satisfies Record<string, keyof SyntheticOptions>;

const faultOptions = {
  rate500: 'rate500',
  rate503: 'rate503',
  rate429: 'rate429',
  'rate-reset': 'rateReset',
  'rate-truncate': 'rateTruncate',
  'rate-slow': 'rateSlow',
  'slow-ms': 'slowMs',
  'retry-after': 'retryAfterSeconds',
} as const satisfies Record<string, keyof FaultOptions>;

function toNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`--${flag} expects a number, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      recorded: { type: 'boolean' },
      synthetic: { type: 'boolean' },
      'no-validators': { type: 'boolean' },
      'current-around': { type: 'string' },
      changed: { type: 'string' },
      port: { type: 'string', default: '8787' },
      ...Object.fromEntries(
        [...Object.keys(numberOptions), ...Object.keys(faultOptions)].map((flag) => [
          flag,
          { type: 'string' as const },
        ]),
      ),
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  if (values.recorded === true && values.synthetic === true)
    throw new Error('--recorded and --synthetic exclude each other');
  const flag = (name: string): string | undefined => {
    const value: unknown = values[name as keyof typeof values];
    return typeof value === 'string' ? value : undefined;
  };

  const synthetic: Partial<SyntheticOptions> = {};
  for (const [name, key] of Object.entries(numberOptions)) {
    const value = flag(name);
    if (value !== undefined) synthetic[key] = toNumber(name, value);
  }
  const around = flag('current-around');
  if (around !== undefined) {
    const at = around === 'now' ? Date.now() : Date.parse(around);
    if (!Number.isFinite(at)) throw new Error(`--current-around: "${around}" is not an ISO 8601 time or "now"`);
    synthetic.currentAround = at;
  }
  if (values.synthetic !== true && Object.keys(synthetic).some((key) => key !== 'seed')) {
    throw new Error('generator options need --synthetic');
  }
  const faults: FaultOptions = { seed: synthetic.seed ?? 1 };
  let anyFault = false;
  for (const [name, key] of Object.entries(faultOptions)) {
    const value = flag(name);
    if (value === undefined) continue;
    faults[key] = toNumber(name, value);
    anyFault = true;
  }

  const tree = values.synthetic === true ? syntheticTree(synthetic) : recordedTree();
  const changedDir = flag('changed');
  const changed = changedDir === undefined ? [] : changeTree(tree, changedDir);
  const counts = expectedCounts(tree);
  const replica = await startReplica({
    tree,
    port: toNumber('port', values.port),
    validators: values['no-validators'] !== true,
    ...(anyFault ? { faults } : {}),
  });
  const kind =
    values.synthetic === true ? `synthetic ${JSON.stringify({ ...SYNTHETIC_DEFAULTS, ...synthetic })}` : 'recorded';
  process.stdout.write(`replica (${kind}) serving at ${replica.url}\n`);
  process.stdout.write(`expected requests: ${JSON.stringify(counts.requests)}\n`);
  process.stdout.write(`expected rows:     ${JSON.stringify(counts.rows)}\n`);
  for (const path of changed) process.stdout.write(`changed upstream: ${path}\n`);
  process.stdout.write('Ctrl-C to stop\n');

  const stop = (): void => {
    process.stdout.write(`\nserved ${replica.stats.total} requests\n`);
    replica.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * Serves the JSON files under `dir` in place of the bodies of the API paths they are named after; returns those paths.
 */
function changeTree(tree: ReplicaTree, dir: string): string[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort();
  return files.map((name) => {
    const apiPath = `/${name.slice(0, -'.json'.length).split(sep).join('/')}`;
    let payload: unknown;
    try {
      payload = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    } catch (error) {
      throw new Error(
        `--changed: ${join(dir, name)} is not JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (tree.body(apiPath) === undefined)
      throw new Error(`--changed: ${join(dir, name)} names ${apiPath}, which the tree does not serve`);
    tree.mutate(apiPath, () => payload);
    return apiPath;
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\nRun with --help for usage.\n`);
  process.exit(2);
});
