/**
 * What this run may still start: at most `limit` requests (--max-requests; cache hits and network
 * alike, retries included), and none at all once the crawl is stopping (Ctrl-C, SIGTERM). It is
 * taken where the crawler takes a request from the queue, so a request it refuses is never taken
 * and stays pending there. It counts this process only: nothing persisted (Crawlee's statistics
 * live as long as the storage dir) decides what a run may do.
 */
export class RunBudget {
  private started = 0;
  private readonly stopping = new AbortController();

  /** `limit`: requests this run may start; undefined for no limit. */
  constructor(readonly limit: number | undefined) {}

  /** Aborted once the crawl is stopping: what waits to be sent gives up (see Gate). */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Requests started by this run (taken from the queue). */
  get startedCount(): number {
    return this.started;
  }

  /** Whether another request may start. */
  get open(): boolean {
    return !this.stopping.signal.aborted && !this.exhausted;
  }

  /** The limit was reached (not a stop). */
  get exhausted(): boolean {
    return this.limit !== undefined && this.started >= this.limit;
  }

  /** Reserves the start of one request; false when none may start. */
  take(): boolean {
    if (!this.open) return false;
    this.started += 1;
    return true;
  }

  /** Returns a reservation that found no request to take. */
  giveBack(): void {
    this.started -= 1;
  }

  /** No request starts from now on; those waiting to be sent give up. */
  stop(): void {
    this.stopping.abort();
  }
}
