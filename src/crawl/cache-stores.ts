/**
 * The names of the response cache's stores (cache.ts): which store a record goes to, and, read
 * back from a store's name, the endpoint it holds (`status` sizes the cache by them). Apart from
 * cache.ts so that reading the names loads none of what reading the records needs.
 */
import { createHash } from 'node:crypto';

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
 * `responses-<label>[-<xx>]@<scheme>-<host>-<port>[-p<hash>]`: one store per API base and label,
 * split by the first two hex digits of the UUID. `<hash>` stands for the base URL's path, when it
 * has one (12 hex digits of its SHA-256: a path may hold any character, and be long). Without a
 * base: the name stores of earlier versions had.
 */
export function shardName(key: string, baseUrl?: string): string {
  const [label, uuid = ''] = key.split(/-(.*)/s);
  const shard = /^[0-9a-f]{2}/i.exec(uuid)?.[0]?.toLowerCase();
  const base = shard ? `responses-${label}-${shard}` : `responses-${label}`;
  if (baseUrl === undefined) return base;
  const { scheme, host, port } = originParts(baseUrl) ?? { scheme: 'unknown', host: baseUrl, port: '' };
  const basePath = basePathOf(baseUrl);
  const pathTag = basePath === '' ? '' : `-p${sha256(Buffer.from(basePath)).slice(0, 12)}`;
  // Only characters every file system takes in a directory name (an IPv6 host loses its colons).
  return `${base}@${scheme}-${host.replace(/[^A-Za-z0-9.-]/g, '_')}-${port}${pathTag}`;
}

/** The path of a base URL without its trailing slashes ('' at the root), as config.ts resolves --base-url. */
export function basePathOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** The label of a cache store's name (with or without its origin), or undefined for other stores. */
export function cacheStoreLabel(storeName: string): string | undefined {
  return /^responses-([a-z]+)(?:-[0-9a-f]{2})?(?:@[A-Za-z0-9._-]+)?$/.exec(storeName)?.[1];
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
