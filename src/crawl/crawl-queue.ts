/**
 * Crawlee's RequestQueue with smaller caches, so that its memory does not grow with the crawl.
 *
 * The dedup cache: each queue keeps a direct-mapped cache of the
 * unique keys it has added (`requestSeenCache`) so that a batch adding known requests again skips
 * the storage; Crawlee allocates it with 1,000,000 slots, two arrays of 7.6 MiB each, in full when
 * the queue opens: 15 MiB of a crawl's resident memory whatever the size of the tree. A slot lost
 * to a collision only means a known request is offered to the storage again, which finds it
 * (never a request dropped), so DEFAULTS.queueSeenCacheSlots is a fraction of that.
 *
 * The request cache (`requestCache`): an LRU list of every request the queue has added or handed
 * out, by id, which Crawlee sizes at 2,000,000, so it keeps one entry (~300 bytes) for every request
 * of a crawl. What it spares is a call to the storage: a request it no longer holds is added through
 * the storage (which knows it: `wasAlreadyPresent`), and one handed out is locked and read from the
 * storage. The queue's order is the journal's, which keeps the forefront itself; so a bounded LRU
 * (DEFAULTS.queueRequestCacheSize, far above the requests in flight) changes no outcome.
 */
import { RequestQueue as CrawleeRequestQueue } from '@crawlee/core';
import { DEFAULTS } from '../config.js';

/** Named as Crawlee's: its StorageManager picks the storage client's method by the class's name. */
export class RequestQueue extends CrawleeRequestQueue {
  constructor(...args: ConstructorParameters<typeof CrawleeRequestQueue>) {
    super(...args);
    // why: Crawlee does not export the cache's class; its constructor takes the slot count.
    const SeenCache = this.requestSeenCache.constructor as new (slots: number) => RequestQueue['requestSeenCache'];
    this.requestSeenCache = new SeenCache(DEFAULTS.queueSeenCacheSlots);
    // why: nor LruCache (@apify/datastructures, not a dependency of ours); its constructor takes { maxLength }.
    const Lru = this.requestCache.constructor as new (options: { maxLength: number }) => RequestQueue['requestCache'];
    this.requestCache = new Lru({ maxLength: DEFAULTS.queueRequestCacheSize });
  }
}
