/**
 * The Crawlee KeyValueStoreClient of the response cache's stores (cache.ts), over the same files
 * Crawlee's MemoryStorage keeps them in (`key_value_stores/<store>/<key>.bin`; `<key>.txt` for
 * records of earlier versions), with nothing kept in memory per record.
 *
 * Why not MemoryStorage's own: it keeps an entry object for every record of every store it has
 * opened (~700 bytes of heap each: the record's two file paths, its key and content type, a queue
 * of its own), so a crawl's memory grows with its cache, and it reads every file of a store, whole,
 * when it opens the store. Here a read is one readFile, a miss one or two ENOENTs, and a write one
 * writeFile in place, as MemoryStorage writes it (a kill can cut a record short: cache.ts checks
 * every record it reads). Writes of one record are queued behind each other; one crawl process
 * uses a storage dir at a time (the crawl lock), so nothing else writes these files meanwhile.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  KeyValueStoreClient,
  KeyValueStoreClientListData,
  KeyValueStoreInfo,
  KeyValueStoreItemData,
  KeyValueStoreRecord,
} from '@crawlee/types';

/** What the cache writes (cache.ts put), and the file MemoryStorage names it by. */
const BINARY = { extension: 'bin', contentType: 'application/octet-stream' } as const;
/** Records of earlier versions: text, read back as a string as MemoryStorage read them. */
const TEXT = { extension: 'txt', contentType: 'text/plain; charset=utf-8' } as const;

export class CacheStoreClient implements KeyValueStoreClient {
  private readonly dir: string;
  private readonly createdAt = new Date();
  /** The write (or delete) in progress of each record being written: the next one waits for it. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly name: string,
    storesDir: string,
  ) {
    this.dir = path.join(storesDir, name);
  }

  async get(): Promise<KeyValueStoreInfo> {
    const now = new Date();
    return { id: this.name, name: this.name, createdAt: this.createdAt, modifiedAt: now, accessedAt: now };
  }

  async update(): Promise<Partial<KeyValueStoreInfo>> {
    throw new Error('the stores of the response cache cannot be renamed');
  }

  async delete(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  async recordExists(key: string): Promise<boolean> {
    return (await this.getRecord(key)) !== undefined;
  }

  async getRecord(key: string): Promise<KeyValueStoreRecord | undefined> {
    // A read after a write sees it (its failure is the writer's to report).
    await this.writing.get(key)?.catch(() => undefined);
    const binary = readIfThere(this.file(key, BINARY.extension));
    if (binary) return { key, value: binary, contentType: BINARY.contentType };
    const text = readIfThere(this.file(key, TEXT.extension));
    if (text) return { key, value: text.toString('utf8'), contentType: TEXT.contentType };
    return undefined;
  }

  async setRecord(record: KeyValueStoreRecord): Promise<void> {
    const { key, value, contentType } = record;
    if (contentType !== BINARY.contentType || !Buffer.isBuffer(value))
      throw new Error(`the response cache stores bodies as ${BINARY.contentType} Buffers, not ${String(contentType)}`);
    await this.serially(key, async () => {
      await mkdir(this.dir, { recursive: true });
      await writeFile(this.file(key, BINARY.extension), value);
    });
  }

  async deleteRecord(key: string): Promise<void> {
    await this.serially(key, async () => {
      for (const { extension } of [BINARY, TEXT]) await rm(this.file(key, extension), { force: true });
    });
  }

  /** The store's records, by key (for completeness: the crawl itself never lists a cache store). */
  async listKeys(): Promise<KeyValueStoreClientListData> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (isMissing(error)) names = [];
      else throw error;
    }
    const items: KeyValueStoreItemData[] = [];
    for (const name of names.sort()) {
      const extension = path.extname(name);
      if (extension !== `.${BINARY.extension}` && extension !== `.${TEXT.extension}`) continue;
      items.push({ key: name.slice(0, -extension.length), size: (await stat(path.join(this.dir, name))).size });
    }
    return { count: items.length, limit: items.length, isTruncated: false, items };
  }

  private file(key: string, extension: string): string {
    // Keys are cache.ts's `<label>-<uuid>`: a key naming another folder would be a bug there.
    if (key.includes('/') || key.includes('\\') || key.startsWith('.'))
      throw new Error(`invalid response cache key ${JSON.stringify(key)}`);
    return path.join(this.dir, `${key}.${extension}`);
  }

  private async serially(key: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.writing.get(key);
    const mine = (async () => {
      await previous?.catch(() => undefined);
      await operation();
    })();
    this.writing.set(key, mine);
    try {
      await mine;
    } finally {
      if (this.writing.get(key) === mine) this.writing.delete(key);
    }
  }
}

/**
 * Read synchronously: a record is one small file (a few kB, compressed), and the promise readFile
 * is four thread-pool round trips (open, fstat, read, close), each a promise and a callback on this
 * thread: in a `--cache only` rebuild that is more CPU than the read itself.
 */
function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
