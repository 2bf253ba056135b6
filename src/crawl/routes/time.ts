/** Conversions of the API's epoch-second fields into the forms the columns store. */

/** An instant: timestamptz, as an ISO string. */
export function instant(epochSeconds: number | null): string | null {
  return epochSeconds === null ? null : new Date(epochSeconds * 1000).toISOString();
}

/** A local calendar day sent as midnight UTC: a date, 'YYYY-MM-DD'. */
export function localDay(epochSeconds: number | null): string | null {
  return epochSeconds === null ? null : new Date(epochSeconds * 1000).toISOString().slice(0, 10);
}

/** A local wall-clock time sent as if it were UTC: a timestamp without time zone. */
export function wallClock(epochSeconds: number | null): string | null {
  return epochSeconds === null ? null : new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}
