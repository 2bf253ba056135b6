import type { EndpointSpec } from '../../api/endpoints.js';
import { byCar, field, items } from '../../api/duplicates.js';
import type { Driver } from '../../api/payloads.generated.js';
import type { DriverRow } from '../../store/tables.js';
import { sessionEnd, withEnd, type Edge, type SessionNode } from '../tree.js';
import { uniqueBy, type Route } from './types.js';

/** A session's classification is fetched when the calendar says it has results. */
export const classificationEdge = {
  child: 'classification',
  parent: 'calendar',
  // Only a session that says it has results has a classification worth asking for.
  selects: (session) => session.hasResults === true,
  meta: (session, parent) => withEnd(parent, sessionEnd(session.endTimeUtc, session.eventEndDate)),
} satisfies Edge<'classification', SessionNode>;

/**
 * A session's classification: one entry per car (with the team as shown for that car), its
 * drivers, its result, and the retirements. Drivers, teams and nationalities are de-duplicated
 * as rows, never as links: a driver in two cars keeps both entry_drivers rows.
 */
export const classificationRoute: Route<'classification'> = ({ payload, parentUuid: session_uuid }) => {
  const { details, retirements } = payload;
  const drivers = [...details.flatMap((d) => d.drivers), ...retirements.map((r) => r.driver)];
  return {
    rows: {
      countries: uniqueBy(
        details.map((d) => d.nationality),
        (c) => c.uuid,
      ).map((c) => ({ uuid: c.uuid, name: c.name, picture: c.picture })),
      drivers: uniqueBy(drivers, (d) => d.uuid).map(driverRow),
      teams: uniqueBy(
        details.map((d) => d.team),
        (t) => t.uuid,
      ).map((t) => ({ uuid: t.uuid })),
      entries: details.map((d) => ({
        session_uuid,
        car_number: d.carNumber,
        team_uuid: d.team.uuid,
        team_name: d.team.name,
        team_colour: d.team.colour,
        team_picture: d.team.picture,
        team_car_icon: d.team.carIcon,
      })),
      entry_drivers: details.flatMap((d) =>
        uniqueBy(d.drivers, (driver) => driver.uuid).map((driver, index) => ({
          session_uuid,
          car_number: d.carNumber,
          driver_uuid: driver.uuid,
          position: index + 1,
        })),
      ),
      classifications: details.map((d) => ({
        session_uuid,
        car_number: d.carNumber,
        nationality_uuid: d.nationality.uuid,
        finish_position: d.finishPosition,
        grid_position: d.gridPosition,
        laps: d.laps,
        points: d.points,
        time_ms: d.time,
        classified_status: d.classifiedStatus,
        avg_lap_speed: d.avgLapSpeed,
        fastest_lap_time_ms: d.fastestLapTime,
        gap_time_to_lead_ms: d.gap.timeToLead,
        gap_time_to_next_ms: d.gap.timeToNext,
        gap_laps_to_lead: d.gap.lapsToLead,
        gap_laps_to_next: d.gap.lapsToNext,
        best_lap: d.best.lap,
        best_time_ms: d.best.time,
        best_fastest: d.best.fastest,
        best_speed: d.best.speed,
      })),
      retirements: retirements.map((r) => ({
        session_uuid,
        car_number: r.carNumber,
        driver_uuid: r.driver.uuid,
        reason: r.reason,
        type: r.type,
        dns: r.dns,
        lap: r.lap,
        details: r.details,
      })),
    },
    complete: [
      ...(['entries', 'entry_drivers', 'classifications'] as const).map((table) => ({
        table,
        where: { session_uuid },
      })),
      // A session's last retirement may be taken back upstream (a car reinstated): no guard against emptying.
      { table: 'retirements', where: { session_uuid }, mayEmpty: true },
    ],
    children: [],
  };
};

function driverRow(d: Driver): DriverRow {
  return {
    uuid: d.uuid,
    name: d.name,
    first_name: d.firstName,
    last_name: d.lastName,
    short_code: d.shortCode,
    colour: d.colour,
    picture: d.picture,
  };
}

export const classificationEndpoint: EndpointSpec<'classification'> = {
  label: 'classification',
  path: (sessionUuid) => `/sessions/${sessionUuid}/classification`,
  itemLists: ['/details', '/retirements'],
  keyedLists: (data, skip) => [
    items(field(data, 'details'), '/details', skip).map(byCar),
    items(field(data, 'retirements'), '/retirements', skip).map(byCar),
  ],
  route: classificationRoute,
  // Its cars and retirements name neither their session nor their event.
  namesParent: undefined,
  edge: classificationEdge,
  // A leaf: its rows lead to no request.
  storedChildren: undefined,
};
