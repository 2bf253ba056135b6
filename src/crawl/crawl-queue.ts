/**
 * Crawlee's RequestQueue with a smaller dedup cache. Each queue keeps a direct-mapped cache of the
 * unique keys it has added (`requestSeenCache`) so that a batch adding known requests again skips
 * the storage; Crawlee allocates it with 1,000,000 slots, two arrays of 7.6 MiB each, in full when
 * the queue opens: 15 MiB of a crawl's resident memory whatever the size of the tree. A slot lost
 * to a collision only means a known request is offered to the storage again, which finds it
 * (never a request dropped), so DEFAULTS.queueSeenCacheSlots is a fraction of that.
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
  }
}
