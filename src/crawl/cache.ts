/**
 * The file cache of raw response bodies, kept in Crawlee KeyValueStores inside the storage dir,
 * and the HTTP client decorator that serves fresh entries without touching the network (and
 * without waiting at the politeness gate).
 *
 * A record is a one-line JSON header ({"fetchedAt":…,"url":…,"bytes":…}) followed by the body,
 * byte for byte, stored as application/octet-stream (`<key>.bin`: read back as the same bytes,
 * with no decoding to text and back; records of earlier versions, `<key>.txt`, are read as text
 * and still checked against their length). Crawlee writes files in place, so a killed process can
 * leave one cut short: a record whose body is not `bytes` long is treated as absent. Stores are sharded by label and by the UUID's first two hex digits
 * and opened on first use: Crawlee reads a whole store when it opens it.
 */
import { KeyValueStore, type Configuration, type BaseHttpClient, type HttpRequest, type RedirectHandler, type ResponseTypes, type HttpResponse, type StreamingHttpResponse } from '@crawlee/core';
import path from 'node:path';
import type { CacheMode } from '../config.js';
import { CacheMissError, asResourceError } from '../errors.js';
import { bufferedResponse } from './network-client.js';

export interface CachedBody {
  readonly fetchedAt: number;
  readonly body: Buffer;
}

/** What the crawler tells the cache about one request: its key and how old an entry may be. */
export interface CachePolicy {
  readonly key: string;
  readonly maxAgeMs: number;
}

/** The request option carrying the CachePolicy from the crawler to CachingClient. */
export const CACHE_POLICY_OPTION = 'cachePolicy';

export const CACHE_HIT_HEADER = 'x-msc-cache';

export class ResponseCache {
  private readonly stores = new Map<string, Promise<KeyValueStore>>();

  /** `storageDir` names the store's folder when the disk refuses a read or a write (ENOSPC, EIO, EACCES). */
  constructor(private readonly config: Configuration, private readonly storageDir = '.') {}

  async get(key: string): Promise<CachedBody | undefined> {
    const value = await this.io(key, async () => (await this.store(key)).getValue<string | Buffer>(key));
    if (value === null || value === undefined) return undefined;
    const record = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const newline = record.indexOf(0x0a);
    const header = newline < 0 ? undefined : tryParse(record.subarray(0, newline).toString('utf8'));
    const body = record.subarray(newline + 1);
    if (typeof header?.fetchedAt !== 'number' || header.bytes !== body.length) return undefined; // unreadable or cut short
    return { fetchedAt: header.fetchedAt, body };
  }

  /** Forgets a record (one whose body turned out unusable). */
  async delete(key: string): Promise<void> {
    await this.io(key, async () => (await this.store(key)).setValue(key, null));
  }

  async put(key: string, url: string, body: Buffer): Promise<void> {
    const header = JSON.stringify({ fetchedAt: Date.now(), url, bytes: body.length });
    await this.io(key, async () =>
      (await this.store(key)).setValue(key, Buffer.concat([Buffer.from(header + '\n'), body]), {
        contentType: 'application/octet-stream',
      }),
    );
  }

  /** Runs a store operation; a disk's refusal becomes a ResourceError naming the store's folder. */
  private async io<T>(key: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw asResourceError(error, path.join(this.storageDir, 'key_value_stores', shardName(key))) ?? error;
    }
  }

  private store(key: string): Promise<KeyValueStore> {
    const name = shardName(key);
    let store = this.stores.get(name);
    if (!store) {
      store = KeyValueStore.open(name, { config: this.config });
      this.stores.set(name, store);
    }
    return store;
  }
}

/** `responses-<label>[-<xx>]`: one store per label, split by the first two hex digits of the UUID. */
export function shardName(key: string): string {
  const [label, uuid = ''] = key.split(/-(.*)/s);
  const shard = /^[0-9a-f]{2}/i.exec(uuid)?.[0]?.toLowerCase();
  return shard ? `responses-${label}-${shard}` : `responses-${label}`;
}

function tryParse(text: string): { fetchedAt?: unknown; bytes?: unknown } | undefined {
  try {
    return JSON.parse(text) as { fetchedAt?: unknown; bytes?: unknown };
  } catch {
    return undefined;
  }
}

/**
 * Serves a request from the cache when the mode and the entry's age allow; otherwise passes it
 * on. It never writes: the crawler stores a body only after it validated it.
 */
export class CachingClient implements BaseHttpClient {
  constructor(
    private readonly cache: ResponseCache,
    private readonly mode: CacheMode,
    private readonly network: BaseHttpClient,
  ) {}

  async stream(request: HttpRequest, onRedirect?: RedirectHandler): Promise<StreamingHttpResponse> {
    const { [CACHE_POLICY_OPTION]: policy, ...rest } = request as HttpRequest & { [CACHE_POLICY_OPTION]?: CachePolicy };
    if (policy && this.mode !== 'refresh') {
      const hit = await this.cache.get(policy.key);
      if (hit && (this.mode === 'only' || Date.now() - hit.fetchedAt <= policy.maxAgeMs)) {
        const url = String(request.url);
        return bufferedResponse(
          { url, statusCode: 200, headers: {}, trailers: {}, redirectUrls: [], complete: true, request: rest },
          hit.body,
          { [CACHE_HIT_HEADER]: 'hit' },
        );
      }
    }
    if (policy && this.mode === 'only') throw new CacheMissError(policy.key);
    return this.network.stream(rest, onRedirect);
  }

  sendRequest<T extends keyof ResponseTypes = 'text'>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    return this.network.sendRequest(request);
  }
}
