/**
 * Measurement 7: resuming a half-done queue of 100,000 requests (50,000 handled). Time from
 * spawning `motorsport-crawler crawl` to the first request of the queue reaching the replica
 * (the queue holds classification requests), on PostgreSQL
 * (migrated beforehand, as it is on a resume). The crawl is killed once the request arrived.
 *
 * The queue is built through Crawlee's RequestQueue over the crawl's own storage client (its
 * journal), as a crawl leaves it.
 *
 * The child logs at info level in JSON, so the time it announced the resume (queue opened and
 * counted) splits the figure into start-up + queue open, and queue open → first request.
 */
import { cpSync } from 'node:fs';
import { openDb } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';
import type { Build } from '../build.js';
import { crawlArgs } from '../crawl-child.js';
import { createDatabase, log, removeDir, runNode, tail, tempDir } from '../harness.js';
import { startReplicaHost, type ReplicaHost } from '../replica.js';
import { buildQueue, sessionUuids } from '../resume-queue.js';

export interface ResumeResult {
  /** Spawn → first request at the replica; NaN when none came. */
  readonly seconds: number;
  /** When no request came: spawn → the crawl's exit, and the error it ended with. */
  readonly exitedAfterSeconds: number | undefined;
  readonly error: string | undefined;
  /** Spawn → the crawl's "resuming …" log line (process start, database open, queue opened and counted). */
  readonly toResumeLogSeconds: number | undefined;
  readonly maxRssMb: number | undefined;
  readonly problems: readonly string[];
}

export interface ResumeSetup {
  readonly host: ReplicaHost;
  readonly template: string;
  readonly total: number;
  readonly handled: number;
  readonly buildSeconds: number;
  dispose(): Promise<void>;
}

/** A tree with at least `total` sessions; its bodies are generated on request only. */
const RESUME_TREE = {
  seed: 7,
  series: 25,
  seasonsPerSeries: 20,
  eventsPerSeason: 50,
  sessionsPerEvent: 4,
  carsPerSession: 20,
  driversPerCar: 1,
};

export async function setupResume(total: number, handled: number): Promise<ResumeSetup> {
  const host = await startReplicaHost(RESUME_TREE, { lazy: true });
  try {
    const setup = await resumeTemplate(host, RESUME_TREE, total, handled);
    const dispose = async () => {
      await setup.dispose();
      await host.close();
    };
    return { ...setup, dispose };
  } catch (error) {
    await host.close();
    throw error;
  }
}

/**
 * A half-done queue of `total` classification requests of `tree` (its first sessions in tree
 * order), for a host already serving that tree; dispose removes the queue, not the host.
 */
export async function resumeTemplate(
  host: ReplicaHost,
  tree: Parameters<typeof sessionUuids>[1] & { seed: number },
  total: number,
  handled: number,
): Promise<ResumeSetup> {
  const template = tempDir('resume-template');
  try {
    const started = performance.now();
    await buildQueue(template, host.url, sessionUuids(tree.seed, tree, total), handled);
    const buildSeconds = (performance.now() - started) / 1000;
    log(`resume: built a queue of ${total} requests (${handled} handled) in ${buildSeconds.toFixed(1)} s`);
    return { host, template, total, handled, buildSeconds, dispose: async () => removeDir(template) };
  } catch (error) {
    removeDir(template);
    throw error;
  }
}

export async function resumeRun(
  build: Build,
  setup: ResumeSetup,
  adminUrl: string,
  concurrency: number,
  timeoutSecs: number,
  /** A database to resume into, left as it is afterwards; default: a new one, migrated, dropped afterwards. */
  into?: string,
): Promise<ResumeResult> {
  const storage = tempDir('resume');
  const database = into === undefined ? await createDatabase(adminUrl) : { url: into, drop: async () => {} };
  try {
    cpSync(setup.template, storage, { recursive: true, preserveTimestamps: true });
    if (into === undefined) {
      const db = await openDb({ kind: 'postgres', url: database.url });
      await migrateLatest(db);
      await db.destroy();
    }

    // The first request from the queue.
    const { arrived } = await setup.host.firstRequest('classification');
    let child: import('node:child_process').ChildProcess | undefined;
    let arrivedAt: number | undefined;
    const spawnedAtWall = Date.now();
    const spawnedAt = performance.now();
    void arrived.then((at) => {
      arrivedAt = at;
      child?.kill('SIGKILL');
    });
    const args = crawlArgs({ baseUrl: setup.host.url, storage, db: database.url, concurrency }).filter(
      (a) => a !== '--quiet',
    );
    const result = await runNode(build.cli, args, {
      rssPreload: build.rssPreload,
      onSpawn: (c) => (child = c),
      timeoutMs: timeoutSecs * 1000,
    });
    const timedOut = arrivedAt === undefined && result.signal === 'SIGKILL';
    const problems: string[] = [];
    const error =
      arrivedAt === undefined
        ? timedOut
          ? `no request within ${timeoutSecs} s (--resume-timeout): killed`
          : (/^\w*Error: .*$/m.exec(result.stderr)?.[0] ?? `exit ${result.code ?? result.signal}`)
        : undefined;
    if (timedOut) {
      problems.push(
        `no request from the queue within ${timeoutSecs} s: the crawl was killed (the figure is > ${timeoutSecs} s)`,
      );
    } else if (arrivedAt === undefined) {
      problems.push(
        `no request reached the replica: the crawl exited ${result.code ?? result.signal} ` +
          `after ${(result.wallMs / 1000).toFixed(1)} s with ${error}\n${tail(result.stderr, 14)}`,
      );
    }
    const resumeLine = result.stderr
      .split('\n')
      .map((line) => {
        try {
          return JSON.parse(line) as { time: string; msg: string };
        } catch {
          return undefined;
        }
      })
      .find((entry) => entry?.msg.startsWith('resuming the crawl'));
    if (!resumeLine) problems.push('the crawl did not log that it resumed');
    else if (!resumeLine.msg.includes(`${setup.handled} requests done, ${setup.total - setup.handled} left`))
      problems.push(`unexpected resume: ${resumeLine.msg}`);
    return {
      seconds: arrivedAt === undefined ? NaN : (arrivedAt - spawnedAt) / 1000,
      exitedAfterSeconds: arrivedAt === undefined ? result.wallMs / 1000 : undefined,
      error,
      toResumeLogSeconds: resumeLine ? (Date.parse(resumeLine.time) - spawnedAtWall) / 1000 : undefined,
      // Killed at the first request: its peak so far, when the exit hook ran (it does not on SIGKILL).
      maxRssMb: result.maxRssKb === undefined ? undefined : result.maxRssKb / 1024,
      problems,
    };
  } finally {
    removeDir(storage);
    await database.drop();
  }
}
