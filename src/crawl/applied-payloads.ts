/**
 * Which response bodies the database already holds the rows of: a map from API target key to
 * the fingerprint of the body last applied for it, loaded once at the start of a crawl from the
 * `applied_payloads` table (which the sink writes in the same transaction as the rows), and
 * emptied as the crawl asks about each target.
 *
 * A body whose fingerprint matches needs no validation and no write: the same bytes, checked by
 * the same schemas and mapped by the same routes, give the same rows, and they are stored. The
 * fingerprint therefore covers the schemas and ROW_MAPPING_VERSION besides the body: changing
 * either makes every payload apply again. Only a payload applied whole (nothing quarantined) is
 * recorded, so one with problems is checked and reported on every crawl.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LABELS } from '../api/endpoints.js';
import { SCHEMAS_DIR } from '../paths.js';
import type { Db } from '../store/db.js';

/** Bump when a route maps the same payload to different rows: stored payloads then apply again. */
export const ROW_MAPPING_VERSION = 1;

export const APPLIED_PAYLOADS_TABLE = 'applied_payloads';

export class AppliedPayloads {
  private constructor(
    private readonly byKey: Map<string, string>,
    private readonly salt: string,
  ) {}

  static async load(db: Db): Promise<AppliedPayloads> {
    const rows = await db(APPLIED_PAYLOADS_TABLE).select<{ target_key: string; body_fingerprint: string }[]>(
      'target_key',
      'body_fingerprint',
    );
    return new AppliedPayloads(new Map(rows.map((r) => [r.target_key, r.body_fingerprint])), mappingSalt());
  }

  fingerprint(body: Buffer): string {
    return createHash('sha256').update(this.salt).update(body).digest('base64url');
  }

  /**
   * Whether the body with this fingerprint is the one whose rows are stored for `key`. The key's
   * entry goes with the answer: a crawl handles each target once, so nothing is kept per request
   * (a cold crawl of 10⁵ requests held ~200 bytes for each until it ended). A target asked about
   * again in the same run (a retry after its rows committed) is processed whole, and the sink's
   * row hashes find nothing to write.
   */
  take(key: string, fingerprint: string): boolean {
    const applied = this.byKey.get(key) === fingerprint;
    this.byKey.delete(key);
    return applied;
  }
}

/** What else decides the rows of a body: the schemas, byte for byte, and the mapping version. */
function mappingSalt(): string {
  const hash = createHash('sha256').update(`rows v${ROW_MAPPING_VERSION}\n`);
  for (const label of LABELS) hash.update(readFileSync(path.join(SCHEMAS_DIR, `${label}.json`)));
  return hash.digest('hex');
}
