/** The counters a crawl keeps for its progress line and its summary. */
import { LABELS, type Label } from '../api/endpoints.js';
import { recordOf } from '../record.js';

export interface LabelCounts {
  succeeded: number;
  failed: number;
  cacheHits: number;
  /** Answered `304 Not Modified` to a conditional request: the cached body, whose age restarted. */
  revalidated: number;
  quarantined: number;
  /** List items (or whole payloads) stored with U+FFFD in place of invalid UTF-8. */
  repaired: number;
  /** Succeeded without writing: the same body's rows were already stored. */
  alreadyStored: number;
  /** Cached records found damaged (cut short, or not matching their hash): refetched, never served. */
  cacheDamaged: number;
}

export class CrawlStats {
  readonly startedAt = Date.now();
  readonly byLabel: Record<Label, LabelCounts> = recordOf(LABELS, () => ({
    succeeded: 0,
    failed: 0,
    cacheHits: 0,
    revalidated: 0,
    quarantined: 0,
    repaired: 0,
    alreadyStored: 0,
    cacheDamaged: 0,
  }));

  /**
   * Requests whose latest attempt this run failed and which wait for another (by unique key, the
   * reason): emptied as they succeed or fail for good. What is left when a run stops at
   * --max-requests are requests it left in trouble, which the summary must not pass over.
   */
  readonly retrying = new Map<string, string>();

  /**
   * Child requests named by the payloads of each label this run handled (known ones included): with
   * `succeeded`, each list's mean fan-out, from which the progress line estimates the whole tree.
   */
  readonly childrenNamed: Record<Label, number> = recordOf(LABELS, () => 0);

  total(field: keyof LabelCounts): number {
    return LABELS.reduce((sum, l) => sum + this.byLabel[l][field], 0);
  }

  /** Requests finished this run, successfully or not. */
  get done(): number {
    return this.total('succeeded') + this.total('failed');
  }
}
