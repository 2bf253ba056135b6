import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LABELS, apiPath } from '../../src/api/endpoints.js';
import { checkNamedParent, validatePayload } from '../../src/api/validate.js';
import { PayloadError } from '../../src/errors.js';
import { GENERATED_PATH, renderPayloadTypes } from '../../scripts/gen-types.js';
import { recorded, recordedOne } from '../support/fixtures.js';

describe('validatePayload', () => {
  it.each(LABELS)('accepts every recorded %s payload whole', (label) => {
    for (const { payload } of recorded(label)) expect(validatePayload(label, payload).quarantined).toEqual([]);
  });

  it('quarantines one bad event of a calendar and keeps the others', () => {
    const payload = recordedOne('calendar', '204926ca-77b0-4a4f-a1e7-352152e4fc25');
    const events = payload.events.length;
    (payload.events[2] as unknown as Record<string, unknown>).name = 42;
    const { payload: kept, quarantined } = validatePayload('calendar', payload);
    expect(kept.events).toHaveLength(events - 1);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.pointer).toBe('/events/2');
    expect(quarantined[0]!.problems[0]!.instancePath).toBe('/events/2/name');
  });

  it('quarantines a car whose driver uuid is not a UUID (nested deep in the item)', () => {
    const payload = recordedOne('classification', '1f2f78be-efb6-4d75-a029-235385c35cc1');
    payload.details[5]!.drivers[1]!.uuid = '../../etc';
    const { payload: kept, quarantined } = validatePayload('classification', payload);
    expect(kept.details).toHaveLength(payload.details.length - 1);
    expect(quarantined.map((q) => [q.pointer, q.id])).toEqual([['/details/5', `car ${payload.details[5]!.carNumber}`]]);
  });

  it('quarantines items of a list payload (a season list with a missing field)', () => {
    const seasons = recorded('seasons')[0]!.payload;
    delete (seasons[0] as Partial<(typeof seasons)[number]>).status;
    const { payload, quarantined } = validatePayload('seasons', seasons);
    expect(payload).toHaveLength(seasons.length - 1);
    expect(quarantined[0]!.problems[0]!.message).toMatch(/status/);
  });

  it('fails the whole payload when the problem is outside every item', () => {
    const payload = recordedOne('calendar', '204926ca-77b0-4a4f-a1e7-352152e4fc25');
    (payload.season as unknown as Record<string, unknown>).uuid = "x'; DROP TABLE series;--";
    expect(() => validatePayload('calendar', payload)).toThrow(PayloadError);
    expect(() => validatePayload('classification', { details: 'nope', retirements: [] })).toThrow(
      /\/details must be array/,
    );
    expect(() => validatePayload('series', { not: 'a list' })).toThrow(/schema mismatch/);
  });
});

describe('checkNamedParent', () => {
  it.each(LABELS)('passes every recorded %s payload for the request that fetched it', (label) => {
    for (const { uuid, payload } of recorded(label))
      expect(() => checkNamedParent(label, payload, label === 'series' ? undefined : uuid)).not.toThrow();
  });

  it("refuses a calendar whose season is not the requested one, the UUIDs' case aside", () => {
    const [mine, theirs] = recorded('calendar');
    expect(() => checkNamedParent('calendar', mine!.payload, mine!.uuid.toUpperCase())).not.toThrow();
    expect(() => checkNamedParent('calendar', theirs!.payload, mine!.uuid)).toThrow(
      new PayloadError(`the calendar of ${theirs!.uuid}, not of the requested ${mine!.uuid}: nothing of it stored`),
    );
  });
});

describe('endpoints', () => {
  it('builds paths only from UUIDs', () => {
    expect(apiPath({ label: 'seasons', uuid: 'a33f8b4a-2b22-41ce-8e7d-0aea08f0e176' })).toBe(
      '/widgets/1.0.0/series/a33f8b4a-2b22-41ce-8e7d-0aea08f0e176/seasons',
    );
    expect(() => apiPath({ label: 'calendar', uuid: '../../etc' })).toThrow(/not a UUID/);
  });

  it('keeps src/api/payloads.generated.ts in step with schemas/ (run npm run gen:types)', async () => {
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(await renderPayloadTypes());
  });
});
