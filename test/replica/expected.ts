import { apiPath, type ReplicaTree } from './tree.js';
import type { Calendar, Classification, SeasonItem, SeriesItem } from './types.js';

export interface CrawlFilters {
  /** Series to crawl, each matched case-insensitively against uuid, shortCode or name. */
  series?: readonly string[];
  /** Inclusive bounds on a season's `year`; a season without a year fails any bound. */
  fromYear?: number;
  toYear?: number;
}

export interface ExpectedCounts {
  requests: { series: number; seasons: number; calendar: number; classification: number; total: number };
  /** Distinct rows a correct crawl stores, per table. */
  rows: {
    series: number;
    seasons: number;
    events: number;
    venues: number;
    /** Event countries and classification nationalities, by uuid. */
    countries: number;
    sessions: number;
    /** Drivers of classification details and of retirements, by uuid. */
    drivers: number;
    teams: number;
    /** By session uuid + car number, from details: a retirement carries no team, so it makes no entry. */
    entries: number;
    /** By session uuid + car number + driver uuid. */
    entry_drivers: number;
    /** One per classification detail. */
    classifications: number;
    /** By session uuid + car number. */
    retirements: number;
  };
}

/**
 * The oracle for crawler tests: walks `tree` the way a correct crawler does (series, then the
 * seasons of the selected series, the calendars of seasons in the year range, the classification
 * of every session with `hasResults: true`), counting requests and distinct rows. Every walked
 * path must exist in the tree.
 */
export function expectedCounts(tree: Pick<ReplicaTree, 'body'>, filters: CrawlFilters = {}): ExpectedCounts {
  const fetched = {
    series: new Set<string>(),
    seasons: new Set<string>(),
    calendar: new Set<string>(),
    classification: new Set<string>(),
  };
  const get = <T>(endpoint: keyof typeof fetched, path: string): T => {
    const text = tree.body(path);
    if (text === undefined) throw new Error(`expectedCounts: the tree has no ${path}`);
    fetched[endpoint].add(path);
    return JSON.parse(text) as T;
  };
  const key = (...parts: string[]): string => parts.join('\u0000');

  const series = new Set<string>();
  const seasons = new Set<string>();
  const events = new Set<string>();
  const venues = new Set<string>();
  const countries = new Set<string>();
  const sessions = new Set<string>();
  const drivers = new Set<string>();
  const teams = new Set<string>();
  const entries = new Set<string>();
  const entryDrivers = new Set<string>();
  const retirements = new Set<string>();
  let classifications = 0;

  const wanted = filters.series?.map((s) => s.toLowerCase());
  const seriesMatches = (item: SeriesItem): boolean =>
    wanted === undefined ||
    [item.uuid, item.shortCode, item.name].some((field) => field !== null && wanted.includes(field.toLowerCase()));
  const yearMatches = ({ year }: SeasonItem): boolean =>
    (filters.fromYear === undefined || (year !== null && year >= filters.fromYear)) &&
    (filters.toYear === undefined || (year !== null && year <= filters.toYear));

  for (const seriesItem of get<SeriesItem[]>('series', apiPath.series())) {
    series.add(seriesItem.uuid);
    if (!seriesMatches(seriesItem)) continue;
    for (const season of get<SeasonItem[]>('seasons', apiPath.seasons(seriesItem.uuid))) {
      seasons.add(season.uuid);
      if (!yearMatches(season)) continue;
      for (const event of get<Calendar>('calendar', apiPath.calendar(season.uuid)).events) {
        events.add(event.uuid);
        venues.add(event.venue.uuid);
        countries.add(event.country.uuid);
        for (const session of event.sessions) {
          sessions.add(session.uuid);
          if (session.hasResults !== true) continue;
          const { details, retirements: retired } = get<Classification>(
            'classification',
            apiPath.classification(session.uuid),
          );
          for (const detail of details) {
            classifications++;
            entries.add(key(session.uuid, detail.carNumber));
            teams.add(detail.team.uuid);
            countries.add(detail.nationality.uuid);
            for (const driver of detail.drivers) {
              drivers.add(driver.uuid);
              entryDrivers.add(key(session.uuid, detail.carNumber, driver.uuid));
            }
          }
          for (const retirement of retired) {
            drivers.add(retirement.driver.uuid);
            retirements.add(key(session.uuid, retirement.carNumber));
          }
        }
      }
    }
  }

  const requests = {
    series: fetched.series.size,
    seasons: fetched.seasons.size,
    calendar: fetched.calendar.size,
    classification: fetched.classification.size,
  };
  return {
    requests: { ...requests, total: Object.values(requests).reduce((a, b) => a + b, 0) },
    rows: {
      series: series.size,
      seasons: seasons.size,
      events: events.size,
      venues: venues.size,
      countries: countries.size,
      sessions: sessions.size,
      drivers: drivers.size,
      teams: teams.size,
      entries: entries.size,
      entry_drivers: entryDrivers.size,
      classifications,
      retirements: retirements.size,
    },
  };
}
