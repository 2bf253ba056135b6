/**
 * The embedded database's PGlite instance: the PostgreSQL settings it runs with, and the one-time
 * creation of a new data dir, which runs in a child process of its own.
 *
 * Where an embedded crawl's memory went (recorded tree, peak RSS 869 MB before this module):
 * - **Creating a data dir** (PGlite's initdb) took ~400 MB on top of everything else, for seconds,
 *   once: beside the instance being opened, PGlite starts a second PostgreSQL instance for initdb
 *   to drive, copies that instance's whole WebAssembly memory (128 MiB at least) to restore it
 *   before each backend initdb runs, so both are touched in full, and, for a data dir on disk,
 *   builds the cluster in an in-memory file system and moves it over as a tar. Run in this
 *   process, that peak is the crawl's peak, and the memory stays reserved for the rest of the run.
 *   So a new data dir is unpacked from the empty cluster shipped with the package
 *   (cluster-template.ts), and only when that was made by another PGlite version created by a
 *   child process (embedded-init-child.ts) that then exits; it builds the cluster straight into
 *   the folder (see InitFS), which leaves out the copy and tar.
 * - **shared_buffers** (PGlite keeps PostgreSQL's 128 MB): the buffer pool is allocated and
 *   initialised when the instance starts, so it is resident from the first statement on (opening
 *   an existing data dir: 300 MB RSS with 128 MB, 170 MB with 16 MB). The crawl's working set of
 *   pages is small (each flush touches the index paths of the rows it writes), and the operating
 *   system's page cache keeps the rest of the files close, as it does for PostgreSQL itself.
 * - **V8's optimising compiler for WebAssembly**: PostgreSQL's hot functions recompiled by TurboFan
 *   in the background took ~50–60 MB more at the peak (recorded tree 362 → 313 MB, bench tree
 *   394–405 → 328–334 MB) for no CPU time saved: the crawl's user CPU time measured the same
 *   (bench tree: 23.3 and 25.2 s with it, 23.7 and 26.5 s without). So PGlite's module is compiled
 *   by Liftoff, V8's baseline compiler, only (see compileWithLiftoffOnly).
 * - the PostgreSQL settings of DEFAULTS.embeddedDbSettings, each with its reason.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { fork } from 'node:child_process';
import v8 from 'node:v8';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryFS, PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { DEFAULTS } from '../config.js';
import { CLUSTER_TEMPLATE, unpackClusterTemplate } from './cluster-template.js';
import { InterruptedError, ResourceError, UserError, asResourceError } from '../errors.js';
import { nodeWasGiven } from '../node-flags.js';
import { isObject, stringField } from '../record.js';

/** `-c name=value` for each setting, after PGlite's own start parameters (which they must not replace). */
export function embeddedStartParams(
  settings: Readonly<Record<string, string>> = DEFAULTS.embeddedDbSettings,
): string[] {
  const own = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  return [...PGLITE_START_PARAMS, ...own];
}

/**
 * PGlite's default start parameters (single-user mode, no fsync, no parallel workers…). Giving
 * `startParams` replaces them, so they are read from PGlite and kept.
 */
const PGLITE_START_PARAMS: readonly string[] = PGlite.defaultStartParams;

/**
 * V8 reads its WebAssembly compiler flags when a module is compiled, so this takes effect for
 * every PGlite instance made after it (and for no JavaScript). Skipped when node was given a
 * WebAssembly tiering flag itself.
 */
function compileWithLiftoffOnly(): void {
  if (!nodeWasGiven(/^--(no-)?(liftoff|wasm-tier-up|wasm-dynamic-tiering|liftoff-only)\b/))
    v8.setFlagsFromString('--liftoff-only');
}

/** The options every embedded instance is opened with (by openDb, and by the child creating one). */
export function embeddedOptions(parsers: PGliteOptions['parsers']): PGliteOptions {
  compileWithLiftoffOnly();
  const startParams = embeddedStartParams();
  return {
    ...(parsers ? { parsers } : {}),
    startParams,
    // initdb's own `-c`: written into the new cluster's postgresql.conf, and used by the
    // bootstrap backends initdb runs, which then fill less memory too.
    initDbStartParams: startParams.slice(PGLITE_START_PARAMS.length),
  };
}

/** True when `dir` holds a PostgreSQL data dir (PGlite opens it as it is). */
export function hasCluster(dir: string): boolean {
  return existsSync(path.join(dir, 'PG_VERSION'));
}

/** Entries a new data dir may hold: a file system's own, in a folder that is a mount point. */
const FOLDER_NOISE = new Set(['lost+found']);

/**
 * Refuses a folder that holds files but no data dir (PG_VERSION): PGlite would initialise a
 * cluster among them, or fail to start with only `PGlite failed to initialize properly`. `name`:
 * the flag or variable the folder came from. Checked before the lock is taken and PGlite started.
 */
export function refuseForeignFolder(dir: string, name: string): void {
  if (hasCluster(dir) || !existsSync(dir)) return;
  const entries = readdirSync(dir).filter((entry) => !FOLDER_NOISE.has(entry));
  if (!entries.length) return;
  const shown = entries.sort().slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
  throw new UserError(
    `${name} ${dir} holds files (${shown}) but no embedded database: ` +
      'give a new or empty folder, or the folder of an embedded database',
  );
}

/**
 * Makes `dir` a data dir, if it is not one, in a child process (see the module comment). The
 * cluster is built in `<dir>.creating` and renamed to `dir` once whole, so a creation killed half
 * way leaves no data dir that looks usable (and is redone, from scratch, next time). A `dir` that
 * holds a mount point's lost+found is initialised in place (a mount point cannot be renamed onto);
 * any other file there is refused before (refuseForeignFolder). The caller holds the data dir's lock.
 */
export async function ensureCluster(
  dir: string,
  {
    signal,
    template = CLUSTER_TEMPLATE,
  }: { readonly signal?: AbortSignal; readonly template?: string | undefined } = {},
): Promise<void> {
  if (hasCluster(dir)) return;
  const inPlace = existsSync(dir) && readdirSync(dir).length > 0;
  const building = inPlace ? dir : `${dir}.creating`;
  if (!inPlace) {
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
  }
  try {
    // The shipped empty cluster when it is this PGlite's (a file copy); initdb in a child otherwise.
    if (inPlace || !unpackTemplate(building, template)) await runChild(building, signal);
    if (!inPlace) renameSync(building, dir);
  } finally {
    if (!inPlace) rmSync(building, { recursive: true, force: true });
  }
}

function unpackTemplate(dir: string, template: string | undefined): boolean {
  try {
    return unpackClusterTemplate(dir, template);
  } catch (error) {
    throw asResourceError(error, dir) ?? error;
  }
}

/**
 * initdb is one run, not a workload: Liftoff only (as every instance, see compileWithLiftoffOnly;
 * given here, it also covers initdb's own module; 520 → 450 MB at the child's peak) and a small
 * young generation (→ 420 MB), which keeps the JS heap close to what it holds.
 */
const CHILD_V8_FLAGS = ['--liftoff-only', '--max-semi-space-size=2'];

/**
 * The child's outcome: exit 0, or a JSON line on stderr `{"code"?, "message"}`. Aborting `signal`
 * (the command's Ctrl-C) ends the child at once: initdb keeps nothing worth waiting for. A child
 * ended by SIGINT or SIGTERM (a Ctrl-C reaches the whole process group) is an interruption too.
 */
function runChild(dir: string, signal?: AbortSignal): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const child = path.join(path.dirname(self), `embedded-init-child${path.extname(self)}`);
  // From the sources (tsx, vitest) the child is TypeScript too and needs the same loader.
  const execArgv = [...CHILD_V8_FLAGS, ...(child.endsWith('.ts') ? ['--import', 'tsx'] : [])];
  return new Promise((resolve, reject) => {
    const proc = fork(child, [dir], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const stop = () => proc.kill('SIGKILL');
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop();
    let stderr = '';
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('exit', (code, killedBy) => {
      signal?.removeEventListener('abort', stop);
      if (code === 0) return resolve();
      if (signal?.aborted || killedBy === 'SIGINT' || killedBy === 'SIGTERM') {
        return reject(
          new InterruptedError(
            `interrupted while creating the embedded database ${dir.replace(/\.creating$/, '')}: ` +
              'nothing was created or fetched; the next run creates it from the start',
          ),
        );
      }
      const failure = lastJsonLine(stderr);
      const error = new Error(
        `creating the embedded database ${dir} failed: ` +
          `${failure?.message ?? (killedBy ? `killed by ${killedBy}` : `exit code ${code}`)}`,
      );
      reject(asResourceError(failure?.code ? { code: failure.code } : undefined, dir) ?? error);
    });
  });
}

function lastJsonLine(text: string): { code?: string; message?: string } | undefined {
  for (const line of text.trim().split('\n').reverse()) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (isObject(parsed)) return { code: stringField(parsed, 'code'), message: stringField(parsed, 'message') };
    } catch {
      // not ours: a line PGlite printed
    }
  }
  return undefined;
}

/**
 * Creates a cluster in `dir` (an empty folder): what the child process runs. Throws a
 * ResourceError for a disk's refusal.
 */
export async function createCluster(dir: string): Promise<void> {
  const pglite = new PGlite({ ...embeddedOptions(undefined), fs: new InitFS(dir) });
  try {
    await pglite.waitReady;
  } finally {
    await pglite.close().catch(() => undefined);
  }
  if (!hasCluster(dir)) throw new ResourceError('EIO', dir, 'initdb left no PG_VERSION');
}

/**
 * The data dir on disk, as PGlite's NodeFS mounts it (Emscripten's NODEFS at PGlite's PGDATA),
 * but a MemoryFS to PGlite: for a MemoryFS, PGlite's initdb writes the new cluster through to the
 * instance's own file system, where NodeFS has it built in memory and copied over as a tar (about
 * 200 MB more at the peak). Used only to create a cluster; every other open uses PGlite's NodeFS.
 */
class InitFS extends MemoryFS {
  constructor(private readonly root: string) {
    super();
  }

  override async init(pg: PGlite, emscriptenOpts: Parameters<MemoryFS['init']>[1]): ReturnType<MemoryFS['init']> {
    const { emscriptenOpts: opts } = await super.init(pg, emscriptenOpts);
    const mount: NonNullable<typeof opts.preRun>[number] = (mod) => {
      mod.FS.mkdirTree(PGDATA);
      mod.FS.mount(mod.NODEFS, { root: this.root }, PGDATA);
    };
    return { emscriptenOpts: { ...opts, preRun: [...(opts.preRun ?? []), mount] } };
  }
}

/** Where PGlite keeps its data dir inside its Emscripten file system (what NodeFS mounts). */
const PGDATA = '/pglite/data';
