import type { CalendarPayload } from '../../api/payloads.generated.js';
import { instant, localDay, wallClock } from './time.js';
import { uniqueBy, type RequestMeta, type Route } from './types.js';

/** A season's calendar: events, their venues and countries, and their sessions. */
export const calendarRoute: Route<'calendar'> = ({ payload, parentUuid, meta }) => {
  const events = payload.events;
  const sessions = events.flatMap((e) => e.sessions.map((s) => ({ ...s, eventUuid: e.uuid, eventEndDate: e.endDate })));
  return {
    rows: {
      venues: uniqueBy(events.map((e) => e.venue), (v) => v.uuid).map((v) => ({
        uuid: v.uuid, name: v.name, short_name: v.shortName, short_code: v.shortCode,
      })),
      countries: uniqueBy(events.map((e) => e.country), (c) => c.uuid).map((c) => ({ uuid: c.uuid, name: c.name, picture: c.picture })),
      // The event's own fields: its venue and country are rows of their own, hashed apart. The
      // venue's picture is the layout used that season (it differs between seasons), so it is the event's.
      events: events.map((e) => ({
        uuid: e.uuid, season_uuid: parentUuid, venue_uuid: e.venue.uuid, country_uuid: e.country.uuid,
        name: e.name, short_name: e.shortName, short_code: e.shortCode, status: e.status, venue_picture: e.venue.picture,
        start_date: localDay(e.startDate), start_time_utc: instant(e.startTimeUtc),
        end_date: localDay(e.endDate), end_time_utc: instant(e.endTimeUtc),
      })),
      sessions: sessions.map((s) => ({
        uuid: s.uuid, event_uuid: s.eventUuid, name: s.name, short_name: s.shortName, short_code: s.shortCode,
        status: s.status, has_results: s.hasResults,
        start_time: wallClock(s.startTime), start_time_utc: instant(s.startTimeUtc),
        end_time: wallClock(s.endTime), end_time_utc: instant(s.endTimeUtc),
      })),
    },
    complete: [
      { table: 'events', where: { season_uuid: parentUuid } },
      ...events.map((e) => ({ table: 'sessions' as const, where: { event_uuid: e.uuid } })),
    ],
    children: sessions
      .filter((s) => s.hasResults === true)
      .map((s) => ({ target: { label: 'classification', uuid: s.uuid }, meta: withEnd(meta, sessionEnd(s.endTimeUtc, s.eventEndDate)) })),
  };
};

/**
 * When a session ended, in epoch ms: its `endTimeUtc`, else the end of its event's last day (the
 * local day sent as midnight UTC; a day later is past its end in every time zone but the
 * farthest east, which is within the days that --settle-after is measured in).
 */
export function sessionEnd(endTimeUtc: number | null, eventEndDate: number | null): number | undefined {
  if (endTimeUtc !== null) return endTimeUtc * 1000;
  if (eventEndDate !== null) return (eventEndDate + 86_400) * 1000;
  return undefined;
}

function withEnd(meta: RequestMeta, endsAt: number | undefined): RequestMeta {
  return endsAt === undefined ? { historic: meta.historic } : { historic: meta.historic, endsAt };
}

/**
 * When a season is over, in epoch ms, read from its calendar: the last end of its events and
 * sessions (each as sessionEnd takes it) and the end of its last year (`endYear`, else `year`),
 * whichever is later. The year counts too because a calendar may not list every round yet: a
 * postponed round can still be given a date, or one be added, while the year runs. Undefined
 * when not known: an event not cancelled without any date (its round is still to be dated), or
 * no date at all.
 */
export function seasonEnd(calendar: CalendarPayload): number | undefined {
  let end = yearEnd(calendar.season.endYear ?? calendar.season.year);
  for (const event of calendar.events) {
    if (event.status === 'Cancelled') continue;
    const eventEnd = sessionEnd(event.endTimeUtc, event.endDate);
    if (eventEnd === undefined) return undefined;
    end = Math.max(end ?? eventEnd, eventEnd);
    for (const session of event.sessions) {
      const ended = sessionEnd(session.endTimeUtc, event.endDate);
      if (ended !== undefined) end = Math.max(end, ended);
    }
  }
  return end;
}

/** The end of a calendar year (midnight UTC of the next 1 January), in epoch ms. */
export function yearEnd(year: number | null): number | undefined {
  return year === null ? undefined : Date.UTC(year + 1, 0, 1);
}
