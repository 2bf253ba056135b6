/**
 * The floor: a bare HttpCrawler walking the same tree as the crawler, with the same storage
 * backend (src/crawl/storage-dir.ts's openStorageDir: a MemoryStorage persisted in the dir), the same handler
 * concurrency and pool options as src/crawl/crawler.ts, no rate limit, and a handler that only
 * parses the JSON and enqueues the children under the same unique keys (API paths). Whatever this
 * takes is Crawlee's own cost on the machine.
 *
 *   node floor-child.js <baseUrl> <storageDir> <concurrency> <maybeRunIntervalSecs>
 *
 * Prints {"seconds", "requests", "failed"} on stdout.
 */
import { RequestQueue, log, LogLevel, type RequestOptions } from '@crawlee/core';
import { HttpCrawler } from '@crawlee/http';
import { openStorageDir } from '../src/crawl/storage-dir.js';

const [baseUrl = '', storageDir = '', concurrencyArg = '48', intervalArg = '0.02'] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
log.setLevel(LogLevel.OFF);

const PREFIX = '/widgets/1.0.0';
type Label = 'series' | 'seasons' | 'calendar' | 'classification';
const request = (path: string, label: Label, uuid?: string): RequestOptions => ({
  url: baseUrl + path,
  uniqueKey: path,
  label,
  userData: { uuid },
});

interface WithUuid {
  uuid: string;
}
interface CalendarLike {
  events: { sessions: (WithUuid & { hasResults: boolean | null })[] }[];
}

function children(label: Label, data: unknown): RequestOptions[] {
  switch (label) {
    case 'series':
      return (data as WithUuid[]).map((s) => request(`${PREFIX}/series/${s.uuid}/seasons`, 'seasons', s.uuid));
    case 'seasons':
      return (data as WithUuid[]).map((s) => request(`${PREFIX}/seasons/${s.uuid}/calendar`, 'calendar', s.uuid));
    case 'calendar':
      return (data as CalendarLike).events.flatMap((e) =>
        e.sessions
          .filter((s) => s.hasResults === true)
          .map((s) => request(`${PREFIX}/sessions/${s.uuid}/classification`, 'classification', s.uuid)),
      );
    case 'classification':
      return [];
  }
}

// The crawler's own storage: whatever src/crawl/storage-dir.ts builds, the floor uses too.
const storage = await openStorageDir(storageDir);
const { config } = storage;
const queue = await RequestQueue.open('crawl', { config });
await queue.addRequests([request(`${PREFIX}/series`, 'series')]);

let requests = 0;
let failed = 0;
const crawler = new HttpCrawler(
  {
    requestQueue: queue,
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    useSessionPool: false,
    persistCookiesPerSession: false,
    additionalMimeTypes: ['application/json'],
    autoscaledPoolOptions: { maybeRunIntervalSecs: Number(intervalArg), loggingIntervalSecs: null },
    statusMessageLoggingInterval: 3600,
    requestHandler: async ({ request: req, body }) => {
      const kids = children(req.label as Label, JSON.parse(body.toString()));
      if (kids.length) await queue.addRequests(kids);
      requests += 1;
    },
    failedRequestHandler: () => {
      failed += 1;
    },
  },
  config,
);
const started = performance.now();
await crawler.run();
const seconds = (performance.now() - started) / 1000;
await storage.close();
process.stdout.write(`${JSON.stringify({ seconds, requests, failed })}\n`);
