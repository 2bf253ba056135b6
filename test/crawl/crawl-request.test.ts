/** A request's identity: what toRequest puts in a Crawlee request, readRequest gives back, or refuses. */
import { NonRetryableError, Request } from '@crawlee/core';
import { describe, expect, it } from 'vitest';
import { readRequest, toRequest } from '../../src/crawl/crawl-request.js';

const UUID = '0b3c2a4e-1f2d-4c5b-9a8e-7d6c5b4a3f2e';

describe('request identity', () => {
  it.each([
    { target: { label: 'series' as const }, meta: { historic: false } },
    { target: { label: 'calendar' as const, uuid: UUID }, meta: { historic: true } },
    { target: { label: 'classification' as const, uuid: UUID }, meta: { historic: false, endsAt: 1_700_000_000_000 } },
  ])('reads back the target and meta of $target.label through a Crawlee Request and its JSON', (sent) => {
    const request = new Request(toRequest('http://api.test', sent.target, sent.meta));
    expect(request.label).toBe(sent.target.label);
    expect(readRequest(request.userData)).toEqual(sent);
    // As the queue's journal stores it and gives it back on resume.
    expect(readRequest(JSON.parse(JSON.stringify(request.userData)))).toEqual(sent);
  });

  it('reads the userData of a queue written by an earlier version (label set by Crawlee after the rest)', () => {
    expect(readRequest({ uuid: UUID, historic: true, endsAt: 5, label: 'classification' })).toEqual({
      target: { label: 'classification', uuid: UUID },
      meta: { historic: true, endsAt: 5 },
    });
  });

  it.each([
    [undefined, 'no userData'],
    [{ label: 'laps', uuid: UUID, historic: false }, 'unknown label "laps"'],
    [
      { label: 'calendar', uuid: '../series', historic: false },
      'the calendar request\'s uuid "../series" is not a UUID',
    ],
    [{ label: 'calendar', historic: false }, "the calendar request's uuid undefined is not a UUID"],
    [{ label: 'series', historic: 'no' }, 'historic is "no"'],
    [{ label: 'classification', uuid: UUID, historic: false, endsAt: 'soon' }, 'endsAt is "soon"'],
  ])('refuses %j without retries, saying what is wrong', (userData, problem) => {
    let thrown: unknown;
    try {
      readRequest(userData);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NonRetryableError);
    expect(thrown instanceof Error && thrown.message).toBe(`unreadable request in the queue: ${problem}`);
  });
});
