/**
 * The file cache of raw response bodies, kept in Crawlee KeyValueStores inside the storage dir.
 * Whether a request is served from it is decided in freshness.ts and done in fetch-step.ts.
 *
 * A record is a one-line JSON header ({"fetchedAt":…,"url":…,"bytes":…,"sha256":…,"encoding":…,
 * "dictionary":…,"stored":…,"etag":…,"lastModified":…}, the last two when the server sent them)
 * followed by the body, stored as application/octet-stream (`<key>.bin`: read back as the same
 * bytes, with no decoding to text and back; records of earlier versions, `<key>.txt`, are read as
 * text). A body of 2 KiB or more is stored deflate-compressed with its endpoint's preset dictionary
 * (`"encoding":"deflate","dictionary":"classification.1"`, `stored` its compressed length), a
 * smaller one as it came, with no `encoding`; records of earlier versions are gzip-compressed
 * (`"encoding":"gzip"`) or as they came, and read as such (see record-codec.ts for why); `bytes`
 * and `sha256` are always those of the body as the API sent it.
 * A record is checked on every read: Crawlee writes files in place, so a killed process can leave
 * one cut short (it is not `stored`, or `bytes`, long), and a disk or a hand can change bytes
 * without changing the length (the body no longer decompresses, or no longer hashes to `sha256`).
 * Either way it is *damaged*: never served, refetched, and rewritten whole. Records written before
 * the hash was added carry none and are checked against their length only, until they are next
 * fetched. Stores are sharded by label and by the UUID's first two hex digits and opened on first
 * use: Crawlee reads a whole store when it opens it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KeyValueStore, type Configuration } from '@crawlee/core';
import { asResourceError } from '../errors.js';
import { validatorValue, type CachedState } from './freshness.js';
import { decodeBody, encodeBody } from './record-codec.js';
import { basePathOf, originOf, shardName } from './cache-stores.js';

export interface CachedBody extends CachedState {
  readonly body: Buffer;
}

/** What a record keeps besides the body: when it was fetched (or last revalidated), and its validators. */
export interface RecordMeta {
  readonly fetchedAt: number;
  readonly etag?: string | undefined;
  readonly lastModified?: string | undefined;
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
  readonly encoding?: unknown;
  readonly dictionary?: unknown;
  readonly stored?: unknown;
  readonly etag?: unknown;
  readonly lastModified?: unknown;
}

/**
 * The cache of one API base (scheme, host, port and path of --base-url) in a storage dir: a crawl
 * of another origin, or of another path on the same origin (`http://h/api-a` and `http://h/api-b`
 * may be two APIs), has stores of its own and never sees these bodies. A base URL with no path
 * (the default) keeps the store names of the versions that keyed by origin alone, so their
 * records stay valid.
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
  /** The base URL's path, no trailing slash: '' for an API at the root of its origin. */
  readonly basePath: string;
  private readonly baseUrl: string;

  constructor(
    private readonly config: Configuration,
    private readonly storageDir: string,
    baseUrl: string,
  ) {
    this.origin = originOf(baseUrl);
    this.basePath = basePathOf(baseUrl);
    this.baseUrl = baseUrl;
  }

  async get(key: string): Promise<CacheLookup> {
    const own = await this.read(shardName(key, this.baseUrl), key);
    if (own.state !== 'absent' || !this.hasLegacyStore(key)) return own;
    return this.read(shardName(key), key);
  }

  /** Forgets a record (one whose body turned out unusable), in the legacy store too. */
  async delete(key: string): Promise<void> {
    const own = shardName(key, this.baseUrl);
    await this.io(own, async () => (await this.store(own)).setValue(key, null));
    const legacy = shardName(key);
    if (this.hasLegacyStore(key)) await this.io(legacy, async () => (await this.store(legacy)).setValue(key, null));
  }

  async put(key: string, url: string, body: Buffer, meta: RecordMeta = { fetchedAt: Date.now() }): Promise<void> {
    const { fetchedAt } = meta;
    const etag = validatorValue(meta.etag);
    const lastModified = validatorValue(meta.lastModified);
    const { encoding, dictionary, stored } = await encodeBody(body, labelOf(key));
    const header = JSON.stringify({
      fetchedAt,
      url,
      bytes: body.length,
      sha256: sha256(body),
      encoding,
      dictionary,
      stored: encoding === undefined ? undefined : stored.length,
      etag,
      lastModified,
    });
    const own = shardName(key, this.baseUrl);
    await this.io(own, async () =>
      (await this.store(own)).setValue(key, Buffer.concat([Buffer.from(`${header}\n`), stored]), {
        contentType: 'application/octet-stream',
      }),
    );
  }

  /**
   * Runs a store operation; a disk's refusal (ENOSPC, EIO, EACCES) becomes a ResourceError naming the store's folder.
   */
  private async io<T>(storeName: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw asResourceError(error, path.join(this.storageDir, 'key_value_stores', storeName)) ?? error;
    }
  }

  private async read(storeName: string, key: string): Promise<CacheLookup> {
    const value = await this.io(storeName, async () => (await this.store(storeName)).getValue<string | Buffer>(key));
    if (value === null || value === undefined) return { state: 'absent' };
    const record = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const newline = record.indexOf(0x0a);
    const header = newline < 0 ? undefined : tryParse(record.subarray(0, newline).toString('utf8'));
    const payload = record.subarray(newline + 1);
    // Another API's body (in a store of an earlier version, keyed without the origin): not ours.
    if (typeof header?.url === 'string' && !this.isOurs(header.url)) return { state: 'absent' };
    if (typeof header?.fetchedAt !== 'number') return { state: 'damaged', reason: 'unreadable header' };
    const decoded = await decodeBody(payload, header);
    if (decoded.state === 'damaged') return decoded;
    const body = decoded.body;
    if (header.bytes !== body.length)
      return { state: 'damaged', reason: `cut short: ${body.length} of ${String(header.bytes)} bytes` };
    // Records of earlier versions have no hash: their length is all that can be checked.
    if (header.sha256 !== undefined && header.sha256 !== sha256(body))
      return { state: 'damaged', reason: 'content hash mismatch' };
    // A validator that could not be sent (kept by an earlier version) is read as none: the request goes unconditional.
    const etag = validatorValue(header.etag);
    const lastModified = validatorValue(header.lastModified);
    return {
      state: 'hit',
      record: {
        fetchedAt: header.fetchedAt,
        body,
        ...(etag !== undefined ? { etag } : {}),
        ...(lastModified !== undefined ? { lastModified } : {}),
      },
    };
  }

  /** Whether a record's URL is under this cache's base URL (its origin, and its path when it has one). */
  private isOurs(url: string): boolean {
    if (originOf(url) !== this.origin) return false;
    if (this.basePath === '') return true;
    try {
      return new URL(url).pathname.startsWith(`${this.basePath}/`);
    } catch {
      return false;
    }
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

/** The endpoint a key (`<label>-<uuid>`) is of. */
function labelOf(key: string): string {
  return key.split('-', 1)[0] ?? '';
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
