/**
 * Aggregates a V8 .cpuprofile (from `node --cpu-prof`) into self time per package and per
 * function, so a profile can be read without DevTools:
 *
 *   node --cpu-prof --cpu-prof-dir=prof --import tsx src/cli.ts crawl …
 *   npx tsx bench/profile-summary.ts prof/*.cpuprofile [--top 40]
 *
 * Then the same time charged to callers: a native or `node:` frame's time goes to the nearest
 * JS frame above it (mkdir → proper-lockfile, writev → pg's socket write…), which is what says
 * which part of the pipeline paid for it.
 *
 * "Package" is the npm package a frame's file lives in (node_modules/<pkg>), `src/…`/`bench/…`/`test/…`
 * for the project's own files, `node:<module>` for Node's internals, and V8's pseudo-frames
 * ((idle), (garbage collector), (program)) as themselves.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * What a sample was for: the highest-ranked of these found anywhere on its stack (so ow called
 * by Crawlee's request queue counts as queue storage, pg called by the sink as the sink).
 */
export const CATEGORIES: readonly (readonly [name: string, pattern: RegExp])[] = [
  [
    'queue storage (memory-storage request queue files, locks)',
    /@crawlee\/memory-storage\/(resource-clients\/request-queue|fs\/request-queue)/,
  ],
  [
    'key-value storage (response cache, records)',
    new RegExp(
      '@crawlee/memory-storage/(resource-clients/key-value-store|fs/key-value-store)|' +
        '/src/crawl/cache\\.|/src/crawl/failures\\.',
    ),
  ],
  ['storage metadata writes (memory-storage background handler)', /@crawlee\/memory-storage\/background-handler/],
  ['storage open (memory-storage directory scans)', /@crawlee\/memory-storage\/cache-helpers/],
  ['sink: hashing', /\/src\/store\/sink\.[jt]s.*#hashRow|#hashRow/],
  [
    'sink and database driver (knex, pg)',
    /\/src\/store\/|\/node_modules\/(knex|pg|pg-protocol|pg-pool|knex-pglite|@electric-sql)\//,
  ],
  ['validation (Ajv)', /\/node_modules\/ajv\/|\/src\/api\/validate\./],
  ['JSON decode', /\/src\/crawl\/decode\./],
  ['routes', /\/src\/crawl\/routes\//],
  ['system info polling (ps, /proc/meminfo)', /@crawlee\/utils\/internals\/(systemInfoV2|memory-info)|ps-tree/],
  [
    'HTTP client (got-scraping, got, node:http)',
    /\/node_modules\/(got|got-scraping|http2-wrapper|header-generator|cacheable-lookup)\/|node:_http|node:net/,
  ],
  ['argument validation (ow, shapeshift, callsites)', /\/node_modules\/(ow|@sapphire\/shapeshift|callsites)\//],
  ['module loading', /node:internal\/modules|node:modules/],
  // Completions of async file operations start a new stack: their purpose is lost, but on this
  // crawler every file is Crawlee storage (queue, cache, metadata).
  [
    'file I/O completions (storage; caller not on the stack)',
    /\/node_modules\/(proper-lockfile|graceful-fs|fs-extra|universalify)\/|node:fs|node:internal\/fs/,
  ],
  ['Crawlee core (pool, queue logic, crawler)', /@crawlee\//],
];

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:'))
    return url
      .replace(/^node:internal\/(deps\/)?/, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  const path = decodeURIComponent(url.replace(/^file:\/\//, ''));
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const own = /\/(src|bench|test|migrations)\/(.*)$/.exec(path);
  if (own) return `${own[1]}/${own[2]!.split('/')[0]}`;
  return path;
}

/** Node internals and native frames: their time belongs to the JS code that called them. */
function isPlumbing(node: ProfileNode): boolean {
  const { url, functionName } = node.callFrame;
  if (functionName.startsWith('(')) return false; // (idle), (garbage collector), (program)
  return !url || url.startsWith('node:');
}

export function summarize(profile: CpuProfile): {
  totalMs: number;
  packages: SelfTime[];
  functions: SelfTime[];
  owners: SelfTime[];
  ownerFunctions: SelfTime[];
  categories: SelfTime[];
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The nearest frame up the stack that is neither native nor Node's own: who asked for the work. */
  const ownerOf = (id: number): ProfileNode => {
    let node = byId.get(id)!;
    const leaf = node;
    while (isPlumbing(node)) {
      const up = parent.get(node.id);
      if (up === undefined) return leaf;
      node = byId.get(up)!;
      if (node.callFrame.functionName === '(root)') return leaf;
    }
    return node;
  };
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const pkg = new Map<string, number>();
  const fn = new Map<string, number>();
  const owner = new Map<string, number>();
  const ownerFn = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  const describe = (callFrame: ProfileNode['callFrame']) => {
    const p = packageOf(callFrame.url, callFrame.functionName);
    const where = callFrame.url ? `${p}:${callFrame.url.split('/').pop()}:${callFrame.lineNumber + 1}` : p;
    return { p, f: `${callFrame.functionName || '(anonymous)'} ${where}` };
  };
  const category = new Map<string, number>();
  const categoryOf = (id: number): string => {
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName.startsWith('(')) return leaf.callFrame.functionName;
    let best = CATEGORIES.length;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      const key = `${decodeURIComponent(url)}#${functionName}`;
      const rank = CATEGORIES.findIndex(([, pattern]) => pattern.test(key));
      if (rank >= 0 && rank < best) best = rank;
    }
    return best < CATEGORIES.length ? CATEGORIES[best]![0] : 'other';
  };
  let total = 0;
  for (const [id, us] of selfUs) {
    add(category, categoryOf(id), us);
    total += us;
    const self = describe(byId.get(id)!.callFrame);
    add(pkg, self.p, us);
    add(fn, self.f, us);
    const own = describe(ownerOf(id).callFrame);
    add(owner, own.p, us);
    add(ownerFn, own.f, us);
  }
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000, share: total ? us / total : 0 })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs: total / 1000,
    packages: rank(pkg),
    functions: rank(fn),
    owners: rank(owner),
    ownerFunctions: rank(ownerFn),
    categories: rank(category),
  };
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '30' } },
    allowPositionals: true,
  });
  const top = Number(values.top);
  for (const file of positionals) {
    const { totalMs, packages, functions, owners, ownerFunctions, categories } = summarize(
      JSON.parse(readFileSync(file, 'utf8')) as CpuProfile,
    );
    const busy = packages.filter((p) => p.name !== '(idle)').reduce((s, p) => s + p.ms, 0);
    process.stdout.write(
      `${file}: ${(totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s ` +
        `not idle\n\ntime by purpose (the highest-ranked category on each sample's stack)\n`,
    );
    for (const c of categories)
      process.stdout.write(
        `  ${(c.share * 100).toFixed(1).padStart(5)}%  ${c.ms.toFixed(0).padStart(7)} ms  ${c.name}\n`,
      );
    process.stdout.write('\nself time by package\n');
    for (const p of packages.slice(0, top))
      process.stdout.write(
        `  ${(p.share * 100).toFixed(1).padStart(5)}%  ${p.ms.toFixed(0).padStart(7)} ms  ${p.name}\n`,
      );
    process.stdout.write('\nself time by function\n');
    for (const f of functions.slice(0, top))
      process.stdout.write(
        `  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}\n`,
      );
    process.stdout.write('\nself time of native and node: frames charged to their JS caller, by package\n');
    for (const p of owners.slice(0, top))
      process.stdout.write(
        `  ${(p.share * 100).toFixed(1).padStart(5)}%  ${p.ms.toFixed(0).padStart(7)} ms  ${p.name}\n`,
      );
    process.stdout.write('\n… by calling function\n');
    for (const f of ownerFunctions.slice(0, top))
      process.stdout.write(
        `  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}\n`,
      );
    process.stdout.write('\n');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
