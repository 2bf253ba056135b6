/**
 * The journaled request queue: what survives a reopen (pending, handled, retries), what does not
 * (locks), a line cut short by a kill, a queue left in Crawlee's own file format, and the same
 * through Crawlee's RequestQueue over the crawl's storage client (order, forefront, copies).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getRequestId, Request, RequestQueue } from '@crawlee/core';
import { describe, expect, it } from 'vitest';
import { JOURNAL_FILE, QueueJournal } from '../../src/crawl/queue-journal.js';
import { openStorageDir } from '../../src/crawl/storage-dir.js';
import { tempDir } from '../support/db.js';

const request = (n: number) => ({ url: `http://replica/r/${n}`, uniqueKey: `/r/${n}`, userData: { n } });
const keysOf = (items: { uniqueKey: string }[]) => items.map((r) => r.uniqueKey);

describe('QueueJournal', () => {
  it('keeps pending and handled requests across a reopen, in queue order, and forgets locks', () => {
    const dir = tempDir('journal-');
    const journal = QueueJournal.open(dir);
    expect(journal.add([request(1), request(2), request(3)], false).map((o) => o.wasAlreadyPresent)).toEqual([
      false,
      false,
      false,
    ]);
    const { items } = journal.lockHead(2, 60_000);
    expect(keysOf(items)).toEqual(['/r/1', '/r/2']);
    journal.update({ ...items[0]!, id: items[0]!.id!, handledAt: new Date().toISOString() }, false);
    journal.update({ ...items[1]!, id: items[1]!.id!, retryCount: 2 }, false);
    expect(journal.lockHead(5, 60_000).items.map((r) => r.uniqueKey)).toEqual(['/r/3']);
    journal.close();

    const reopened = QueueJournal.open(dir);
    expect(reopened.counts()).toEqual({ pending: 2, handled: 1 });
    // The killed process's locks are gone: both pending requests are handed out again.
    const again = reopened.lockHead(5, 60_000).items;
    expect(keysOf(again)).toEqual(['/r/2', '/r/3']);
    expect(again[0]!.retryCount).toBe(2);
    expect(reopened.add([request(1)], false)[0]).toMatchObject({ wasAlreadyPresent: true, wasAlreadyHandled: true });
    expect(reopened.get(getRequestId('/r/1'))).toMatchObject({ uniqueKey: '/r/1', url: 'http://replica/r/1' });
    reopened.close();
  });

  it('answers for handled requests of any URL and label as they were added, before and after a reopen', () => {
    const dir = tempDir('journal-');
    const journal = QueueJournal.open(dir);
    const odd = [
      { url: 'http://a/r/1', uniqueKey: '/r/1', userData: { label: 'x:y' } },
      { url: 'http://b/other', uniqueKey: '/r/2#retry-1', userData: { label: 'x:y' } },
      { url: 'http://a/r/3', uniqueKey: '/r/3' },
      { url: 'http://a/r/4:5', uniqueKey: ':5', userData: { label: '' } },
    ];
    journal.add(odd, false);
    const { items } = journal.lockHead(10, 60_000);
    for (const item of items) journal.update({ ...item, id: item.id!, handledAt: new Date().toISOString() }, false);
    const identities = (queue: QueueJournal) =>
      odd.map((r) => {
        const { uniqueKey, url, userData } = queue.get(getRequestId(r.uniqueKey))!;
        return { uniqueKey, url, label: (userData as { label?: string } | undefined)?.label };
      });
    const expected = odd.map((r) => ({ uniqueKey: r.uniqueKey, url: r.url, label: r.userData?.label }));
    expect(identities(journal)).toEqual(expected);
    journal.close();
    const reopened = QueueJournal.open(dir);
    expect(reopened.counts()).toEqual({ pending: 0, handled: 4 });
    expect(identities(reopened)).toEqual(expected);
    expect([...QueueJournal.snapshot(dir).knownKeys].sort()).toEqual(odd.map((r) => r.uniqueKey).sort());
    expect(QueueJournal.countByLabel(dir)).toEqual(
      new Map([
        ['x:y', { pending: 0, handled: 2 }],
        [undefined, { pending: 0, handled: 1 }],
        ['', { pending: 0, handled: 1 }],
      ]),
    );
  });

  it('counts by label what a replay holds: updates, a handled request put again, deletions, a cut line', () => {
    const dir = tempDir('journal-');
    const put = (n: number, label: string) => ({
      put: { ...request(n), id: getRequestId(`/r/${n}`), userData: { n, label } },
    });
    const done = (n: number, label: string) => ({
      done: getRequestId(`/r/${n}`),
      key: `/r/${n}`,
      url: request(n).url,
      label,
    });
    const lines = [
      put(1, 'a'),
      put(2, 'b'),
      put(3, 'a'),
      done(1, 'a'),
      // Handled stays handled: a put, or a second done with another label, changes nothing.
      put(1, 'b'),
      done(1, 'b'),
      // A pending request's update takes its new label.
      put(3, 'c'),
      { del: getRequestId('/r/2') },
      put(4, 'a'),
      done(4, 'a'),
      { del: getRequestId('/r/4') },
    ];
    writeFileSync(path.join(dir, JOURNAL_FILE), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"put":{"id`);
    expect(QueueJournal.countByLabel(dir)).toEqual(
      new Map([
        ['c', { pending: 1, handled: 0 }],
        ['a', { pending: 0, handled: 1 }],
      ]),
    );
    const journal = QueueJournal.open(dir);
    expect(journal.counts()).toEqual({ pending: 1, handled: 1 });
    journal.close();
  });

  it('says whether a request stayed behind locked, and releases and prolongs locks', () => {
    const journal = QueueJournal.open(tempDir('journal-'));
    journal.add([request(1), request(2)], false);
    const first = journal.lockHead(1, 60_000);
    expect(first.othersLocked).toBe(false);
    expect(journal.lockHead(5, 60_000)).toMatchObject({ othersLocked: true });
    expect(journal.lockHead(5, 60_000)).toEqual({ items: [], othersLocked: true });
    expect(journal.unlock(first.items[0]!.id!, true)).toBe(true);
    expect(keysOf(journal.lockHead(5, 60_000).items)).toEqual(['/r/1']);
    expect(journal.prolongLock(getRequestId('/r/9'), 1000, false)).toBeUndefined();
    journal.close();
  });

  it('skips a last line cut short by a kill, then appends after it cleanly', () => {
    const dir = tempDir('journal-');
    const journal = QueueJournal.open(dir);
    journal.add([request(1), request(2)], false);
    journal.close();
    appendFileSync(path.join(dir, JOURNAL_FILE), '{"put":{"id":"abc","uniqueKey":"/r/3","url":"http:');

    const reopened = QueueJournal.open(dir);
    expect(reopened.unreadableLines).toBe(1);
    expect(reopened.counts()).toEqual({ pending: 2, handled: 0 });
    reopened.add([request(4)], false);
    reopened.close();
    const lines = readFileSync(path.join(dir, JOURNAL_FILE), 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).put.uniqueKey)).toEqual(['/r/1', '/r/2', '/r/4']);
    expect(QueueJournal.open(dir).counts()).toEqual({ pending: 3, handled: 0 });
  });

  it('compacts on open: a retried request is one line, a deleted one none', () => {
    const dir = tempDir('journal-');
    const journal = QueueJournal.open(dir);
    const [one, two] = journal.add([request(1), request(2)], false);
    for (let retry = 1; retry <= 3; retry++) journal.update({ ...request(1), id: one!.id, retryCount: retry }, false);
    journal.delete(two!.id);
    journal.close();
    expect(readFileSync(path.join(dir, JOURNAL_FILE), 'utf8').trimEnd().split('\n')).toHaveLength(6);
    QueueJournal.open(dir).close();
    const lines = readFileSync(path.join(dir, JOURNAL_FILE), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([{ put: { ...request(1), id: one!.id, retryCount: 3 } }]);
  });

  it('hands out forefront requests latest first, through thousands of changes and a reopen', () => {
    const dir = tempDir('journal-');
    const journal = QueueJournal.open(dir);
    journal.add([request(0), request(1)], false);
    // A depth-first walk: each round puts 3 children on top and takes the top one, 2,000 rounds,
    // so the stack is rebuilt many times with stale places in it.
    let next = 2;
    for (let round = 0; round < 2000; round++) {
      journal.add([request(next++), request(next++), request(next++)], true);
      const [top] = journal.lockHead(1, 60_000).items;
      expect(top!.uniqueKey).toBe(`/r/${next - 1}`);
      journal.update({ ...top!, id: top!.id!, handledAt: new Date().toISOString() }, false);
    }
    // Put again at the forefront (as Crawlee reclaims a request to it), a request is handed out first.
    journal.update({ ...journal.get(getRequestId('/r/1'))!, id: getRequestId('/r/1') }, true);
    const order = keysOf(journal.head(5));
    expect(order).toEqual(['/r/1', '/r/6000', '/r/5999', '/r/5997', '/r/5996']);
    expect(journal.counts()).toEqual({ pending: 4002, handled: 2000 });
    journal.close();

    const reopened = QueueJournal.open(dir);
    expect(keysOf(reopened.head(5))).toEqual(order);
    expect(keysOf(reopened.head(5000)).slice(-3)).toEqual(['/r/3', '/r/2', '/r/0']);
    expect(reopened.counts()).toEqual({ pending: 4002, handled: 2000 });
    reopened.close();
  });

  it("imports a queue left in Crawlee's own file format, then removes those files", () => {
    const dir = tempDir('journal-');
    mkdirSync(dir, { recursive: true });
    const model = (n: number, orderNo: number | null) => {
      const id = getRequestId(`/r/${n}`);
      return [
        `${id}.json`,
        JSON.stringify({
          id,
          json: JSON.stringify({ ...request(n), id }),
          orderNo,
          uniqueKey: `/r/${n}`,
          url: request(n).url,
        }),
      ] as const;
    };
    for (const [name, text] of [model(1, null), model(2, Date.now() - 1000)]) writeFileSync(path.join(dir, name), text);
    writeFileSync(path.join(dir, '__metadata__.json'), '{"handledRequestCount": 1');
    expect(QueueJournal.exists(dir)).toBe(true);

    const journal = QueueJournal.open(dir);
    expect(journal.counts()).toEqual({ pending: 1, handled: 1 });
    expect(keysOf(journal.lockHead(5, 1000).items)).toEqual(['/r/2']);
    journal.close();
    expect(readdirSync(dir)).toEqual([JOURNAL_FILE]);
  });
});

describe("Crawlee's RequestQueue over the crawl storage client", () => {
  it('adds, hands out, reclaims and marks handled; a new process sees the same queue', async () => {
    const dir = tempDir('storage-');
    let storage = await openStorageDir(dir);
    let queue = await RequestQueue.open('crawl', { config: storage.config });
    await queue.addRequests([request(1), request(2), request(3)].map((r) => new Request(r)));
    const first = (await queue.fetchNextRequest())!;
    await queue.markRequestHandled(first);
    const second = (await queue.fetchNextRequest())!;
    second.retryCount = 1;
    await queue.reclaimRequest(second);
    expect(await queue.getInfo()).toMatchObject({
      handledRequestCount: 1,
      pendingRequestCount: 2,
      totalRequestCount: 3,
    });
    await queue.addRequests([new Request({ ...request(4), label: 'leaf' })]);
    // Read beside the running queue, as `status` does.
    expect(QueueJournal.countByLabel(path.join(dir, 'request_queues', 'crawl'))).toEqual(
      new Map([
        [undefined, { pending: 2, handled: 1 }],
        ['leaf', { pending: 1, handled: 0 }],
      ]),
    );
    await storage.close();

    storage = await openStorageDir(dir);
    queue = await RequestQueue.open('crawl', { config: storage.config });
    expect(await queue.getInfo()).toMatchObject({ handledRequestCount: 1, pendingRequestCount: 3 });
    const seen: Request[] = [];
    for (let next = await queue.fetchNextRequest(); next; next = await queue.fetchNextRequest()) {
      seen.push(next);
      await queue.markRequestHandled(next);
    }
    expect(seen.map((r) => [r.uniqueKey, r.retryCount, r.userData])).toEqual([
      ['/r/2', 1, { n: 2 }],
      ['/r/3', 0, { n: 3 }],
      ['/r/4', 0, { n: 4, label: 'leaf' }],
    ]);
    expect(QueueJournal.countByLabel(path.join(dir, 'request_queues', 'crawl')).get('leaf')).toEqual({
      pending: 0,
      handled: 1,
    });
    expect(await queue.isFinished()).toBe(true);
    const { processedRequests } = await queue.addRequests([new Request(request(1))]);
    expect(processedRequests[0]).toMatchObject({ wasAlreadyPresent: true, wasAlreadyHandled: true });
    await queue.drop();
    expect(existsSync(path.join(dir, 'request_queues', 'crawl'))).toBe(false);
    await storage.close();
  });

  it("keeps the journal open through Crawlee's teardown at the end of a run: no replay, no rewrite", async () => {
    const dir = tempDir('storage-');
    const storage = await openStorageDir(dir);
    try {
      const queue = await RequestQueue.open('crawl', { config: storage.config });
      await queue.addRequests([request(1), request(2)].map((r) => new Request(r)));
      const first = (await queue.fetchNextRequest())!;
      await queue.reclaimRequest(first);
      const file = path.join(dir, 'request_queues', 'crawl', JOURNAL_FILE);
      const lines = readFileSync(file, 'utf8');
      // What BasicCrawler.run() calls as it ends; the crawl then asks its queue again (isFinished, the sweep).
      await storage.config.getStorageClient().teardown!();
      expect(await queue.getInfo()).toMatchObject({ pendingRequestCount: 2 });
      // Reopened, the journal would have been compacted: the reclaimed request's two lines made one.
      expect(readFileSync(file, 'utf8')).toBe(lines);
      expect(lines.trimEnd().split('\n')).toHaveLength(3);
    } finally {
      await storage.close();
    }
    // Finished with, it is: one line per request, which is what status and the next open read.
    const compacted = readFileSync(path.join(dir, 'request_queues', 'crawl', JOURNAL_FILE), 'utf8');
    expect(
      compacted
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).put.uniqueKey),
    ).toEqual(['/r/1', '/r/2']);
  });

  it('puts forefront requests first, reclaims to the front when asked, and hands out copies', async () => {
    const dir = tempDir('storage-');
    const storage = await openStorageDir(dir);
    try {
      const queue = await RequestQueue.open('crawl', { config: storage.config });
      await queue.addRequests([request(1), request(2)].map((r) => new Request(r)));
      await queue.addRequest(new Request(request(3)), { forefront: true });
      const first = (await queue.fetchNextRequest())!;
      expect(first.uniqueKey).toBe('/r/3');
      const second = (await queue.fetchNextRequest())!;
      expect(second.uniqueKey).toBe('/r/1');
      await queue.reclaimRequest(second, { forefront: true });
      await queue.markRequestHandled(first);

      // A request read back is the queue's copy: changing it changes nothing stored.
      const copy = (await queue.getRequest(getRequestId('/r/2')))!;
      copy.userData.n = 99;
      expect((await queue.getRequest(getRequestId('/r/2')))!.userData).toEqual({ n: 2 });

      const order: string[] = [];
      for (let next = await queue.fetchNextRequest(); next; next = await queue.fetchNextRequest()) {
        order.push(next.uniqueKey);
        await queue.markRequestHandled(next);
      }
      expect(order).toEqual(['/r/1', '/r/2']);
      expect(await queue.getInfo()).toMatchObject({ handledRequestCount: 3, pendingRequestCount: 0 });
    } finally {
      await storage.close();
    }
  });
});
