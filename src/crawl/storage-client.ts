/**
 * The Crawlee storage client of a crawl's storage dir: request queues are QueueJournals
 * (`request_queues/<name>/journal.ndjson`), the response cache's key-value stores are
 * CacheStoreClients (cache-store-client.ts), other key-value stores and datasets are Crawlee's
 * MemoryStorage persisted in the same dir. Crawlee's RequestQueue, KeyValueStore and crawlers
 * use it through Crawlee's own StorageClient interface, unchanged.
 */
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { MemoryStorage } from '@crawlee/memory-storage';
import type {
  BatchAddRequestsResult,
  DatasetClient,
  DatasetCollectionClient,
  Dictionary,
  KeyValueStoreClient,
  KeyValueStoreCollectionClient,
  ListAndLockHeadResult,
  ListAndLockOptions,
  PaginatedList,
  ProlongRequestLockOptions,
  ProlongRequestLockResult,
  QueueHead,
  QueueOperationInfo,
  RequestOptions,
  RequestQueueClient,
  RequestQueueCollectionClient,
  RequestQueueInfo,
  RequestSchema,
  StorageClient,
  UpdateRequestSchema,
} from '@crawlee/types';
import { cacheStoreLabel } from './cache-stores.js';
import { CacheStoreClient } from './cache-store-client.js';
import { QueueJournal } from './queue-journal.js';

/** The crawl's request queue: one per storage dir (queue.ts starts and resumes it). */
export const QUEUE_NAME = 'crawl';

/** Where the client keeps the request queue `name` of the storage dir `dir`. */
export function requestQueueDir(dir: string, name: string): string {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`invalid request queue name ${JSON.stringify(name)}`);
  return path.join(dir, 'request_queues', name);
}

export class CrawlStorageClient implements StorageClient {
  private readonly stores: MemoryStorage;
  private readonly journals = new Map<string, QueueJournal>();
  /** The response cache's stores, by name (a few hundred at most: cache.ts shards by label and UUID). */
  private readonly cacheStores = new Map<string, CacheStoreClient>();
  private readonly persist: boolean;
  private readonly queuesDir: string;
  /** Set for --queue postgres: every request queue is this one (see shared-queue-client.ts). */
  private sharedQueue: RequestQueueClient | undefined;

  /** `persist` false: the stores are read from the dir, and what is written stays in memory (`status`). */
  constructor(
    readonly dir: string,
    { persist = true }: { readonly persist?: boolean } = {},
  ) {
    // No per-record metadata files: they would double every write, nothing reads them, and
    // Crawlee's store listing trips over them once a record is deleted.
    this.stores = new MemoryStorage({ localDataDirectory: dir, persistStorage: persist, writeMetadata: false });
    this.persist = persist;
    this.queuesDir = path.join(dir, 'request_queues');
  }

  datasets(): DatasetCollectionClient {
    return this.stores.datasets();
  }

  dataset<Data extends Dictionary = Dictionary>(id: string): DatasetClient<Data> {
    return this.stores.dataset<Data>(id);
  }

  keyValueStores(): KeyValueStoreCollectionClient {
    return this.stores.keyValueStores();
  }

  keyValueStore(id: string): KeyValueStoreClient {
    // Not persisted (`status`, `crawl --plan`): MemoryStorage keeps what is written in memory, as asked.
    if (!this.persist || cacheStoreLabel(id) === undefined) return this.stores.keyValueStore(id);
    let store = this.cacheStores.get(id);
    if (!store) {
      store = new CacheStoreClient(id, path.join(this.dir, 'key_value_stores'));
      this.cacheStores.set(id, store);
    }
    return store;
  }

  /** From now on, serves the crawl's request queue from `client` instead of a journal. */
  shareQueue(client: RequestQueueClient): void {
    this.sharedQueue = client;
  }

  requestQueues(): RequestQueueCollectionClient {
    const shared = this.sharedQueue;
    if (shared) {
      return {
        list: async () => {
          const info = await shared.get();
          return { total: 1, count: 1, offset: 0, limit: 1, items: info ? [info] : [] };
        },
        getOrCreate: async () => (await shared.get())!,
      };
    }
    return {
      list: async (): Promise<PaginatedList<RequestQueueInfo>> => {
        const names = existsSync(this.queuesDir)
          ? readdirSync(this.queuesDir).filter((name) => QueueJournal.exists(this.queueDir(name)))
          : [];
        const items = names.map((name) => infoOf(name, this.journal(name)));
        return { total: items.length, count: items.length, offset: 0, limit: items.length, items };
      },
      getOrCreate: async (name: string) => infoOf(name, this.journal(name)),
    };
  }

  requestQueue(id: string): RequestQueueClient {
    if (this.sharedQueue) return this.sharedQueue;
    return new JournalQueueClient(
      id,
      () => this.journal(id),
      () => QueueJournal.exists(this.queueDir(id)),
      () => this.dropJournal(id),
    );
  }

  /**
   * Crawlee's hook at the end of every `crawler.run()`: waits for the cache stores' background
   * writes. The journals stay open: each line is on disk when its call returns, so there is nothing
   * to flush, and closing them here made the crawl's next look at its queue (isFinished, the sweep)
   * replay and rewrite the whole journal, holding every request of the crawl at once.
   */
  async teardown(): Promise<void> {
    await this.stores.teardown();
  }

  /** Compacts and closes the journals and waits for the background writes: the storage dir is done with. */
  async close(): Promise<void> {
    for (const journal of this.journals.values()) journal.finish();
    this.journals.clear();
    await this.teardown();
  }

  private queueDir(name: string): string {
    return requestQueueDir(this.dir, name);
  }

  private journal(name: string): QueueJournal {
    let journal = this.journals.get(name);
    if (!journal) {
      journal = QueueJournal.open(this.queueDir(name));
      this.journals.set(name, journal);
    }
    return journal;
  }

  private dropJournal(name: string): void {
    const journal =
      this.journals.get(name) ?? (QueueJournal.exists(this.queueDir(name)) ? this.journal(name) : undefined);
    journal?.drop();
    this.journals.delete(name);
  }
}

function infoOf(name: string, journal: QueueJournal): RequestQueueInfo {
  const { pending, handled } = journal.counts();
  return {
    id: name,
    name,
    createdAt: journal.createdAt,
    modifiedAt: journal.modifiedAt,
    accessedAt: new Date(),
    totalRequestCount: pending + handled,
    handledRequestCount: handled,
    pendingRequestCount: pending,
    hadMultipleClients: false,
    stats: {},
  };
}

/** Crawlee's RequestQueueClient over one QueueJournal (one process: the crawl lock sees to it). */
class JournalQueueClient implements RequestQueueClient {
  constructor(
    private readonly name: string,
    private readonly journal: () => QueueJournal,
    private readonly exists: () => boolean,
    private readonly drop: () => void,
  ) {}

  async get(): Promise<RequestQueueInfo | undefined> {
    return this.exists() ? infoOf(this.name, this.journal()) : undefined;
  }

  async update(): Promise<Partial<RequestQueueInfo> | undefined> {
    throw new Error('request queues of a crawl storage dir cannot be renamed');
  }

  async delete(): Promise<void> {
    this.drop();
  }

  async listHead(options: { limit?: number } = {}): Promise<QueueHead> {
    const journal = this.journal();
    return {
      limit: options.limit ?? 100,
      queueModifiedAt: journal.modifiedAt,
      hadMultipleClients: false,
      items: journal.head(options.limit ?? 100).map(headItem),
    };
  }

  async listAndLockHead(options: ListAndLockOptions): Promise<ListAndLockHeadResult> {
    const journal = this.journal();
    const limit = options.limit ?? 25;
    const { items } = journal.lockHead(limit, options.lockSecs * 1000);
    // No `queueHasLockedRequests`: Crawlee then decides whether the queue is finished from
    // listHead (any pending request, locked or not), which stays right after a crawler stopped
    // at its request limit and paused the queue with requests unlocked but still pending.
    return {
      limit,
      lockSecs: options.lockSecs,
      queueModifiedAt: journal.modifiedAt,
      hadMultipleClients: false,
      items: items.map(headItem),
    };
  }

  async addRequest(request: RequestSchema, options: RequestOptions = {}): Promise<QueueOperationInfo> {
    const [outcome] = this.journal().add([withoutNulls(request)], !!options.forefront);
    return operationInfo(outcome!);
  }

  async batchAddRequests(requests: RequestSchema[], options: RequestOptions = {}): Promise<BatchAddRequestsResult> {
    const outcomes = this.journal().add(requests.map(withoutNulls), !!options.forefront);
    return {
      processedRequests: outcomes.map((o, i) => ({ ...operationInfo(o), uniqueKey: requests[i]!.uniqueKey })),
      unprocessedRequests: [],
    };
  }

  async getRequest(id: string): Promise<RequestOptions | undefined> {
    const request = this.journal().get(id);
    // A copy: the caller may change it. Spread, RequestSchema's fields fit RequestOptions' open record.
    return request ? { ...structuredClone(request) } : undefined;
  }

  async updateRequest(request: UpdateRequestSchema, options: RequestOptions = {}): Promise<QueueOperationInfo> {
    return operationInfo(this.journal().update(withoutNulls(request), !!options.forefront));
  }

  async deleteRequest(id: string): Promise<void> {
    this.journal().delete(id);
  }

  async prolongRequestLock(id: string, options: ProlongRequestLockOptions): Promise<ProlongRequestLockResult> {
    const lockExpiresAt = this.journal().prolongLock(id, options.lockSecs * 1000, !!options.forefront);
    if (!lockExpiresAt) throw new Error(`request ${id} is not pending in queue ${this.name}`);
    return { lockExpiresAt };
  }

  async deleteRequestLock(id: string, options: { forefront?: boolean } = {}): Promise<void> {
    if (!this.journal().unlock(id, !!options.forefront))
      throw new Error(`request ${id} is not pending in queue ${this.name}`);
  }
}

export function headItem(request: RequestSchema) {
  return {
    id: request.id!,
    uniqueKey: request.uniqueKey,
    url: request.url,
    method: request.method ?? 'GET',
    retryCount: request.retryCount ?? 0,
  };
}

export function operationInfo(outcome: {
  id: string;
  wasAlreadyPresent: boolean;
  wasAlreadyHandled: boolean;
}): QueueOperationInfo {
  return {
    requestId: outcome.id,
    wasAlreadyPresent: outcome.wasAlreadyPresent,
    wasAlreadyHandled: outcome.wasAlreadyHandled,
  };
}

/** Crawlee sends `null` for unset fields (handledAt: null on a pending request). */
export function withoutNulls<T extends object>(request: T): T {
  // why: the same fields less the null ones, which Crawlee's types declare optional (absent, or null).
  return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== null)) as T;
}
