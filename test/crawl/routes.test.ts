/** What the pipeline relies on from the routes besides their rows. */
import { describe, expect, it } from 'vitest';
import { ENDPOINTS, LABELS, LEAF_LABELS } from '../../src/api/endpoints.js';
import type { Route } from '../../src/crawl/routes/types.js';
import { recorded } from '../support/fixtures.js';

const SCOPES = [
  { series: [], fromYear: undefined, toYear: undefined },
  { series: ['f1'], fromYear: 2020, toYear: 2021 },
];

describe('routes', () => {
  it.each(LABELS)('%s: a leaf label yields no children and no warnings for any recorded payload or scope', (label) => {
    const route = ENDPOINTS[label].route as Route<typeof label>;
    const outputs = recorded(label).flatMap(({ uuid, payload }) =>
      SCOPES.map((scope) => route({ payload, parentUuid: uuid, meta: { historic: false }, scope } as never)),
    );
    expect(outputs.length).toBeGreaterThan(0);
    const yieldsSomething = outputs.some((o) => o.children.length > 0 || (o.warnings?.length ?? 0) > 0);
    // Every label that is not a leaf does yield something somewhere: the set is neither too big nor too small.
    expect(yieldsSomething).toBe(!LEAF_LABELS.has(label));
  });
});
