/**
 * Failed requests and quarantined items, kept in the storage dir so they outlive the process:
 * the summary lists them, `status` counts them, and `crawl --retry-failed` retries the requests.
 */
import { KeyValueStore, type Configuration } from '@crawlee/core';
import type { ApiTarget, Label } from '../api/endpoints.js';
import type { PayloadProblem } from '../errors.js';
import type { RequestMeta } from './routes/types.js';

export const FAILURES_STORE = 'crawl-failures';

export interface FailedRequest {
  readonly kind: 'request';
  readonly url: string;
  readonly label: Label;
  readonly target: ApiTarget;
  readonly meta: RequestMeta;
  readonly attempts: number;
  readonly error: string;
  readonly problems: readonly PayloadProblem[];
  readonly at: string;
}

export interface QuarantinedRecord {
  readonly kind: 'quarantine';
  readonly url: string;
  readonly label: Label;
  /** JSON pointer of the dropped item and its id when readable. */
  readonly pointer: string;
  readonly id: string | undefined;
  readonly problems: readonly PayloadProblem[];
  readonly at: string;
}

export type FailureRecord = FailedRequest | QuarantinedRecord;

export class FailureLog {
  private constructor(private readonly store: KeyValueStore) {}

  static async open(config: Configuration): Promise<FailureLog> {
    return new FailureLog(await KeyValueStore.open(FAILURES_STORE, { config }));
  }

  async record(key: string, failure: FailureRecord): Promise<void> {
    await this.store.setValue(safeKey(key), failure);
  }

  async all(): Promise<FailureRecord[]> {
    const records: FailureRecord[] = [];
    await this.store.forEachKey(async (key) => {
      const value = await this.store.getValue<FailureRecord>(key);
      if (value) records.push(value);
    });
    return records;
  }

  /** Empties the log (the failures are about to be retried, or a new crawl starts). */
  async clear(): Promise<void> {
    const keys: string[] = [];
    await this.store.forEachKey(async (key) => void keys.push(key));
    for (const key of keys) await this.store.setValue(key, null);
  }
}

/** KeyValueStore keys allow [a-zA-Z0-9!-_.'()] up to 256 characters. */
function safeKey(key: string): string {
  return key.replace(/[^a-zA-Z0-9!\-_.'()]/g, '_').slice(0, 250);
}
