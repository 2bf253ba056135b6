/**
 * The file cache of raw response bodies, kept in Crawlee KeyValueStores inside the storage dir,
 * and the HTTP client decorator that serves fresh entries without touching the network (and
 * without waiting at the politeness gate).
 *
 * A record is a one-line JSON header ({"fetchedAt":…,"url":…,"bytes":…,"sha256":…}) followed by
 * the body, byte for byte, stored as application/octet-stream (`<key>.bin`: read back as the same
 * bytes, with no decoding to text and back; records of earlier versions, `<key>.txt`, are read as
 * text). A record is checked on every read: Crawlee writes files in place, so a killed process can
 * leave one cut short (its body is not `bytes` long), and a disk or a hand can change bytes without
 * changing the length (its body no longer hashes to `sha256`). Either way it is *damaged*: never
 * served, refetched, and rewritten whole. Records written before the hash was added carry none and
 * are checked against their length only, until they are next fetched. Stores are sharded by label
 * and by the UUID's first two hex digits and opened on first use: Crawlee reads a whole store when
 * it opens it.
 */
import { createHash } from 'node:crypto';
import { KeyValueStore, type Configuration, type BaseHttpClient, type HttpRequest, type RedirectHandler, type ResponseTypes, type HttpResponse, type StreamingHttpResponse } from '@crawlee/core';
import type { Label } from '../api/endpoints.js';
import type { CacheMode } from '../config.js';
import { CacheDamagedError, CacheMissError } from '../errors.js';
import { bufferedResponse } from './network-client.js';

export interface CachedBody {
  readonly fetchedAt: number;
  readonly body: Buffer;
}

/** What a read of the cache found: a sound record, none, or one that must not be used (and why). */
export type CacheLookup =
  | { readonly state: 'hit'; readonly record: CachedBody }
  | { readonly state: 'absent' }
  | { readonly state: 'damaged'; readonly reason: string };

interface RecordHeader {
  readonly fetchedAt?: unknown;
  readonly url?: unknown;
  readonly bytes?: unknown;
  readonly sha256?: unknown;
}

/** What the crawler tells the cache about one request: its key and how old an entry may be. */
export interface CachePolicy {
  readonly label: Label;
  readonly key: string;
  readonly maxAgeMs: number;
}

/** The request option carrying the CachePolicy from the crawler to CachingClient. */
export const CACHE_POLICY_OPTION = 'cachePolicy';

export const CACHE_HIT_HEADER = 'x-msc-cache';

export class ResponseCache {
  private readonly stores = new Map<string, Promise<KeyValueStore>>();

  constructor(private readonly config: Configuration) {}

  async get(key: string): Promise<CacheLookup> {
    const value = await (await this.store(key)).getValue<string | Buffer>(key);
    if (value === null || value === undefined) return { state: 'absent' };
    const record = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const newline = record.indexOf(0x0a);
    const header = newline < 0 ? undefined : tryParse(record.subarray(0, newline).toString('utf8'));
    const body = record.subarray(newline + 1);
    if (typeof header?.fetchedAt !== 'number') return { state: 'damaged', reason: 'unreadable header' };
    if (header.bytes !== body.length) return { state: 'damaged', reason: `cut short: ${body.length} of ${String(header.bytes)} bytes` };
    // Records of earlier versions have no hash: their length is all that can be checked.
    if (header.sha256 !== undefined && header.sha256 !== sha256(body)) return { state: 'damaged', reason: 'content hash mismatch' };
    return { state: 'hit', record: { fetchedAt: header.fetchedAt, body } };
  }

  /** Forgets a record (one whose body turned out unusable). */
  async delete(key: string): Promise<void> {
    await (await this.store(key)).setValue(key, null);
  }

  async put(key: string, url: string, body: Buffer): Promise<void> {
    const header = JSON.stringify({ fetchedAt: Date.now(), url, bytes: body.length, sha256: sha256(body) });
    await (await this.store(key)).setValue(key, Buffer.concat([Buffer.from(header + '\n'), body]), {
      contentType: 'application/octet-stream',
    });
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

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function tryParse(text: string): RecordHeader | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
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
    /** Told of each damaged record met (it is then refetched, or in --cache only failed). */
    private readonly onDamaged: (policy: CachePolicy, reason: string) => void = () => undefined,
  ) {}

  async stream(request: HttpRequest, onRedirect?: RedirectHandler): Promise<StreamingHttpResponse> {
    const { [CACHE_POLICY_OPTION]: policy, ...rest } = request as HttpRequest & { [CACHE_POLICY_OPTION]?: CachePolicy };
    if (policy && this.mode !== 'refresh') {
      const lookup = await this.cache.get(policy.key);
      if (lookup.state === 'damaged') {
        this.onDamaged(policy, lookup.reason);
        if (this.mode === 'only') throw new CacheDamagedError(policy.key, lookup.reason);
      }
      const hit = lookup.state === 'hit' ? lookup.record : undefined;
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
