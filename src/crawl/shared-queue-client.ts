/**
 * Crawlee's RequestQueueClient over the shared queue (shared-queue.ts), so that Crawlee's own
 * RequestQueue, and with it the crawler, the routes and the sink, work on a queue in PostgreSQL
 * unchanged.
 *
 * Crawlee locks requests by listing the queue's head (`listAndLockHead`) and unlocks those it
 * does not get to or that it retries. Here a lock is a lease of this worker: taken in PostgreSQL
 * when Crawlee asks for more, and kept by the worker's heartbeat, not by Crawlee's lock times.
 * A request Crawlee unlocks stays leased to this worker and is handed out again before anything
 * new is taken (a retry keeps its attempt count, which lives here); whatever this worker still
 * holds when it stops goes back to the queue (SharedQueue.close). A request is finished in
 * PostgreSQL when Crawlee marks it handled: done, or failed when its error handler is running.
 */
import { RequestState } from '@crawlee/core';
import type {
  BatchAddRequestsResult,
  ListAndLockHeadResult,
  ListAndLockOptions,
  ProlongRequestLockOptions,
  ProlongRequestLockResult,
  QueueHead,
  QueueOperationInfo,
  RequestOptions,
  RequestQueueClient,
  RequestQueueInfo,
  RequestSchema,
  UpdateRequestSchema,
} from '@crawlee/types';
import type { SharedQueue } from './shared-queue.js';
import { isObject } from '../record.js';
import { headItem, operationInfo, withoutNulls } from './storage-client.js';

type HeldRequest = RequestSchema & { id: string };

export interface SharedQueueClientOptions {
  /** How often an idle worker asks PostgreSQL again (Crawlee's pool asks every 20 ms). */
  readonly pollMs: number;
  /** The most requests this worker holds at once: what it does not hold, other workers can take. */
  readonly maxLeased: number;
}

export class SharedQueueClient implements RequestQueueClient {
  /** Requests leased to this worker and not finished, by id. */
  private readonly held = new Map<string, HeldRequest>();
  /** Held requests Crawlee does not have locked (unlocked, or retried), handed out first. */
  private readonly ready = new Set<string>();
  /** Requests asked of the shared queue and not yet returned by it. */
  private leasing = 0;
  /** When the shared queue last had nothing for this worker. */
  private emptyAt = 0;
  /**
   * Whether, when it last had nothing, some request was still queued or leased anywhere. Once
   * false it stays true to the facts: only a request being handled adds requests.
   */
  private busyElsewhere = true;

  constructor(
    private readonly name: string,
    private readonly shared: SharedQueue,
    private readonly options: SharedQueueClientOptions,
  ) {
    shared.onLeasesLost = () => {
      this.held.clear();
      this.ready.clear();
    };
  }

  async get(): Promise<RequestQueueInfo | undefined> {
    const { queued, leased, done, failed } = await this.shared.counts();
    const crawl = this.shared.crawl;
    return {
      id: this.name,
      name: this.name,
      createdAt: new Date(crawl.startedAt),
      modifiedAt: new Date(),
      accessedAt: new Date(),
      totalRequestCount: queued + leased + done + failed,
      handledRequestCount: done + failed,
      pendingRequestCount: queued + leased,
      hadMultipleClients: true,
      stats: {},
    };
  }

  async update(): Promise<Partial<RequestQueueInfo> | undefined> {
    throw new Error('the shared request queue cannot be renamed');
  }

  async delete(): Promise<void> {
    throw new Error('the shared request queue is replaced by starting a new crawl, not deleted');
  }

  /**
   * The held requests Crawlee does not have locked: Crawlee reads
   * it only for queues that cannot say whether others hold locks.
   */
  async listHead(options: { limit?: number } = {}): Promise<QueueHead> {
    const items = [...this.ready].slice(0, options.limit ?? 100).map((id) => headItem(this.held.get(id)!));
    return { limit: options.limit ?? 100, queueModifiedAt: new Date(), hadMultipleClients: true, items };
  }

  async listAndLockHead(options: ListAndLockOptions): Promise<ListAndLockHeadResult> {
    const limit = options.limit ?? 25;
    const items: HeldRequest[] = [];
    for (const id of this.ready) {
      if (items.length === limit) break;
      this.ready.delete(id);
      items.push(this.held.get(id)!);
    }
    // Crawlee may ask again while a lease is under way: what that one may bring counts as held.
    const room = Math.min(limit - items.length, this.options.maxLeased - this.held.size - this.leasing);
    if (room > 0 && Date.now() - this.emptyAt >= this.options.pollMs) {
      this.leasing += room;
      let leased: HeldRequest[];
      try {
        leased = await this.shared.lease(room);
      } finally {
        this.leasing -= room;
      }
      for (const request of leased) {
        this.held.set(request.id, request);
        items.push(request);
      }
      if (!leased.length) {
        this.emptyAt = Date.now();
        // Nothing to take: finished only when nothing is leased anywhere either (another
        // worker's request in flight may still add children).
        this.busyElsewhere = !(await this.shared.isDrained());
      }
    }
    return {
      limit,
      lockSecs: options.lockSecs,
      queueModifiedAt: new Date(),
      hadMultipleClients: true,
      // Between polls, the last poll's answer stands.
      queueHasLockedRequests: items.length > 0 || this.held.size > 0 || this.busyElsewhere,
      items: items.map(headItem),
    };
  }

  /** (Forefront is not kept: workers take requests in the order they were added.) */
  async addRequest(request: RequestSchema): Promise<QueueOperationInfo> {
    const [outcome] = await this.shared.add([withoutNulls(request)]);
    return operationInfo(outcome!);
  }

  async batchAddRequests(requests: RequestSchema[]): Promise<BatchAddRequestsResult> {
    const outcomes = await this.shared.add(requests.map(withoutNulls));
    return {
      processedRequests: outcomes.map((o, i) => ({ ...operationInfo(o), uniqueKey: requests[i]!.uniqueKey })),
      unprocessedRequests: [],
    };
  }

  async getRequest(id: string): Promise<RequestOptions | undefined> {
    const request = this.held.get(id) ?? (await this.shared.get(id));
    if (!request) return undefined;
    const copy: RequestOptions = { ...structuredClone(request) };
    return copy;
  }

  async updateRequest(request: UpdateRequestSchema): Promise<QueueOperationInfo> {
    const id = request.id;
    const held = this.held.has(id);
    if (request.handledAt) {
      this.ready.delete(id);
      // Crawlee marks a request handled before running its failed-request handler, in that state.
      const failed = stateOf(request) === RequestState.ERROR_HANDLER;
      try {
        // Held until its lease is gone from PostgreSQL: the cap counts what the database counts.
        const finished =
          held && (await this.shared.finish(id, failed ? (request.errorMessages?.at(-1) ?? 'failed') : undefined));
        return { requestId: id, wasAlreadyPresent: true, wasAlreadyHandled: !finished };
      } finally {
        this.held.delete(id);
      }
    }
    // A retry: its new attempt count stays with this worker, which keeps the lease.
    if (held) this.held.set(id, withoutNulls({ ...request }));
    return { requestId: id, wasAlreadyPresent: true, wasAlreadyHandled: false };
  }

  async deleteRequest(): Promise<void> {
    throw new Error('requests of the shared queue are finished, not deleted');
  }

  async prolongRequestLock(id: string, options: ProlongRequestLockOptions): Promise<ProlongRequestLockResult> {
    if (!this.held.has(id)) throw new Error(`request ${id} is not leased to this worker`);
    return { lockExpiresAt: new Date(Date.now() + options.lockSecs * 1000) };
  }

  async deleteRequestLock(id: string): Promise<void> {
    if (!this.held.has(id)) throw new Error(`request ${id} is not leased to this worker`);
    this.ready.add(id);
  }
}

/** Crawlee keeps a request's lifecycle state in `userData.__crawlee.state`. */
function stateOf(request: UpdateRequestSchema): unknown {
  const internal = isObject(request.userData) ? request.userData.__crawlee : undefined;
  return isObject(internal) ? internal.state : undefined;
}
