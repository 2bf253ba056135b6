import type { EndpointSpec } from '../../api/endpoints.js';
import { byUuid, field, items, uuidOf } from '../../api/duplicates.js';
import { instant, localDay, wallClock } from './time.js';
import {
  follow,
  followEach,
  inYears,
  isHistoric,
  sessionNodes,
  uuidsOf,
  type Edge,
  type SeasonNode,
  type StoredChildren,
} from '../tree.js';
import { classificationEdge } from './classification.js';
import { uniqueBy, type Route } from './types.js';

/** A season's calendar is fetched for each season within --from-year/--to-year. */
export const calendarEdge = {
  child: 'calendar',
  parent: 'seasons',
  selects: (season, scope) => inYears(season.year, scope),
  meta: (season) => ({ historic: isHistoric(season) }),
} satisfies Edge<'calendar', SeasonNode>;

/** A season's calendar: events, their venues and countries, and their sessions. */
export const calendarRoute: Route<'calendar'> = ({ payload, parentUuid, meta, scope }) => {
  const events = payload.events;
  const sessions = events.flatMap((e) => e.sessions.map((s) => ({ ...s, eventUuid: e.uuid })));
  return {
    rows: {
      venues: uniqueBy(
        events.map((e) => e.venue),
        (v) => v.uuid,
      ).map((v) => ({
        uuid: v.uuid,
        name: v.name,
        short_name: v.shortName,
        short_code: v.shortCode,
      })),
      countries: uniqueBy(
        events.map((e) => e.country),
        (c) => c.uuid,
      ).map((c) => ({ uuid: c.uuid, name: c.name, picture: c.picture })),
      // The event's own fields: its venue and country are rows of their own, hashed apart. The
      // venue's picture is the layout used that season (it differs between seasons), so it is the event's.
      events: events.map((e) => ({
        uuid: e.uuid,
        season_uuid: parentUuid,
        venue_uuid: e.venue.uuid,
        country_uuid: e.country.uuid,
        name: e.name,
        short_name: e.shortName,
        short_code: e.shortCode,
        status: e.status,
        venue_picture: e.venue.picture,
        start_date: localDay(e.startDate),
        start_time_utc: instant(e.startTimeUtc),
        end_date: localDay(e.endDate),
        end_time_utc: instant(e.endTimeUtc),
      })),
      sessions: sessions.map((s) => ({
        uuid: s.uuid,
        event_uuid: s.eventUuid,
        name: s.name,
        short_name: s.shortName,
        short_code: s.shortCode,
        status: s.status,
        has_results: s.hasResults,
        start_time: wallClock(s.startTime),
        start_time_utc: instant(s.startTimeUtc),
        end_time: wallClock(s.endTime),
        end_time_utc: instant(s.endTimeUtc),
      })),
    },
    complete: [
      { table: 'events', where: { season_uuid: parentUuid } },
      // An event's timetable may be withdrawn upstream (postponed, cancelled) while the event stays listed.
      ...events.map((e) => ({ table: 'sessions' as const, where: { event_uuid: e.uuid }, mayEmpty: true })),
    ],
    children: follow(classificationEdge, sessionNodes(payload), scope, meta),
  };
};

/** For the sweep: the classifications the live session rows (with their events) of these seasons lead to. */
const storedChildren: StoredChildren = async (db, parents, scope) => {
  const rows = await db('sessions as s')
    .join('events as e', 'e.uuid', 's.event_uuid')
    .whereNull('s.deleted_at')
    .whereNull('e.deleted_at')
    .whereIn('e.season_uuid', uuidsOf(parents))
    .select<
      {
        uuid: string;
        season_uuid: string;
        has_results: boolean | null;
        end_time_utc: Date | string | null;
        end_date: string | null;
      }[]
    >('s.uuid', 'e.season_uuid', 's.has_results', 's.end_time_utc', 'e.end_date');
  const nodes = rows.map((s) => ({
    parent: s.season_uuid,
    uuid: s.uuid,
    hasResults: s.has_results,
    // Back to the epoch seconds the calendar sent.
    endTimeUtc: s.end_time_utc === null ? null : new Date(s.end_time_utc).getTime() / 1000,
    eventEndDate: s.end_date === null ? null : Date.parse(`${s.end_date}T00:00:00Z`) / 1000,
  }));
  return followEach(classificationEdge, parents, nodes, scope);
};

export const calendarEndpoint: EndpointSpec<'calendar'> = {
  label: 'calendar',
  path: (seasonUuid) => `/seasons/${seasonUuid}/calendar`,
  itemLists: ['/events'],
  // A session is one row whichever event lists it: its uuid is a key within the whole calendar.
  keyedLists: (data, skip) => {
    const events = items(field(data, 'events'), '/events', skip);
    const sessions = events.flatMap((event) =>
      items(field(event.item, 'sessions'), `${event.pointer}/sessions`, skip).map((s) => ({
        ...byUuid(s),
        context: uuidOf(event.item) ?? '',
      })),
    );
    return [events.map(byUuid), sessions];
  },
  route: calendarRoute,
  namesParent: (payload) => payload.season.uuid,
  edge: calendarEdge,
  storedChildren,
};
