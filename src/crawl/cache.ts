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
import { existsSync } from 'node:fs';
import path from 'node:path';
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

/**
 * The cache of one API origin (scheme, host and port of --base-url) in a storage dir: a crawl of
 * another origin has stores of its own and never sees these bodies.
 *
 * Stores of earlier versions were keyed by endpoint and UUID only (`responses-<label>[-<xx>]`).
 * They are still read, as a fallback, and a record there is used only when the URL in its header
 * has this origin; what is fetched again is written to this origin's stores. (The alternative, a
 * one-time migration moving every record into the store of its origin, would read the header of
 * every record, 10⁵ files for a full crawl, before the first request, and be one more thing a
 * kill could leave half done.)
 */
export class ResponseCache {
  private readonly stores = new Map<string, Promise<KeyValueStore>>();
  private readonly legacyStoreExists = new Map<string, boolean>();
  readonly origin: string;

  constructor(
    private readonly config: Configuration,
    private readonly storageDir: string,
    baseUrl: string,
  ) {
    this.origin = originOf(baseUrl);
  }

  async get(key: string): Promise<CacheLookup> {
    const own = await this.read(shardName(key, this.origin), key);
    if (own.state !== 'absent' || !this.hasLegacyStore(key)) return own;
    return this.read(shardName(key), key);
  }

  /** Forgets a record (one whose body turned out unusable), in the legacy store too. */
  async delete(key: string): Promise<void> {
    await (await this.store(shardName(key, this.origin))).setValue(key, null);
    if (this.hasLegacyStore(key)) await (await this.store(shardName(key))).setValue(key, null);
  }

  async put(key: string, url: string, body: Buffer, fetchedAt: number = Date.now()): Promise<void> {
    const header = JSON.stringify({ fetchedAt, url, bytes: body.length, sha256: sha256(body) });
    await (await this.store(shardName(key, this.origin))).setValue(key, Buffer.concat([Buffer.from(header + '\n'), body]), {
      contentType: 'application/octet-stream',
    });
  }

  private async read(storeName: string, key: string): Promise<CacheLookup> {
    const value = await (await this.store(storeName)).getValue<string | Buffer>(key);
    if (value === null || value === undefined) return { state: 'absent' };
    const record = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const newline = record.indexOf(0x0a);
    const header = newline < 0 ? undefined : tryParse(record.subarray(0, newline).toString('utf8'));
    const body = record.subarray(newline + 1);
    // Another origin's body (in a store of an earlier version, keyed without the origin): not ours.
    if (typeof header?.url === 'string' && originOf(header.url) !== this.origin) return { state: 'absent' };
    if (typeof header?.fetchedAt !== 'number') return { state: 'damaged', reason: 'unreadable header' };
    if (header.bytes !== body.length) return { state: 'damaged', reason: `cut short: ${body.length} of ${String(header.bytes)} bytes` };
    // Records of earlier versions have no hash: their length is all that can be checked.
    if (header.sha256 !== undefined && header.sha256 !== sha256(body)) return { state: 'damaged', reason: 'content hash mismatch' };
    return { state: 'hit', record: { fetchedAt: header.fetchedAt, body } };
  }

  private hasLegacyStore(key: string): boolean {
    const name = shardName(key);
    let exists = this.legacyStoreExists.get(name);
    if (exists === undefined) {
      exists = existsSync(path.join(this.storageDir, 'key_value_stores', name));
      this.legacyStoreExists.set(name, exists);
    }
    return exists;
  }

  private store(name: string): Promise<KeyValueStore> {
    let store = this.stores.get(name);
    if (!store) {
      store = KeyValueStore.open(name, { config: this.config });
      this.stores.set(name, store);
    }
    return store;
  }
}

/** `http://127.0.0.1:8787`, `https://api.motorsportstats.com:443`: the port always written out. */
export function originOf(url: string): string {
  const parts = originParts(url);
  return parts ? `${parts.scheme}://${parts.host}:${parts.port}` : url;
}

function originParts(url: string): { scheme: string; host: string; port: string } | undefined {
  try {
    const { protocol, hostname, port } = new URL(url);
    const scheme = protocol.replace(/:$/, '');
    return { scheme, host: hostname, port: port || (scheme === 'https' ? '443' : scheme === 'http' ? '80' : '') };
  } catch {
    return undefined;
  }
}

/**
 * `responses-<label>[-<xx>]@<scheme>-<host>-<port>`: one store per origin and label, split by the
 * first two hex digits of the UUID. Without an origin: the name stores of earlier versions had.
 */
export function shardName(key: string, origin?: string): string {
  const [label, uuid = ''] = key.split(/-(.*)/s);
  const shard = /^[0-9a-f]{2}/i.exec(uuid)?.[0]?.toLowerCase();
  const base = shard ? `responses-${label}-${shard}` : `responses-${label}`;
  if (origin === undefined) return base;
  const { scheme, host, port } = originParts(origin) ?? { scheme: 'unknown', host: origin, port: '' };
  // Only characters every file system takes in a directory name (an IPv6 host loses its colons).
  return `${base}@${scheme}-${host.replace(/[^A-Za-z0-9.-]/g, '_')}-${port}`;
}

/** The label of a cache store's name (with or without its origin), or undefined for other stores. */
export function cacheStoreLabel(storeName: string): string | undefined {
  return /^responses-([a-z]+)(?:-[0-9a-f]{2})?(?:@[A-Za-z0-9._-]+)?$/.exec(storeName)?.[1];
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
