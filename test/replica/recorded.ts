import { readdirSync, readFileSync } from 'node:fs';
import { routeOf, withMutations, type ReplicaTree } from './tree.js';
import type { Calendar, Classification, SeasonItem, SeriesItem } from './types.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);

/** The recorded responses of one endpoint, keyed by the uuid their file is named after. */
function readFolder(folder: string): Map<string, string> {
  const dir = new URL(`${folder}/`, FIXTURES);
  const texts = new Map<string, string>();
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    texts.set(file.slice(0, -'.json'.length), readFileSync(new URL(file, dir), 'utf8'));
  }
  return texts;
}

/**
 * The recorded corpus as a tree. Recorded files are served byte for byte.
 *
 * Fill rule: the corpus is a consistent slice of the live tree, not all of it, so paths it
 * reaches without a recorded file are served the emptiest truthful answer instead of a 404:
 * - a series of `series/all.json` without a seasons file gets `[]`;
 * - a season listed in a recorded seasons file without a calendar file gets
 *   `{"season":{name,uuid,year,endYear} of that season item,"events":[]}`;
 * - a session with `hasResults: true` in a recorded calendar without a classification file gets
 *   `{"details":[],"retirements":[]}`.
 * Every other uuid is a 404 (including sessions with `hasResults: false`). This keeps the tree
 * crawlable end to end with zero failures while every row a crawl stores comes from a recording.
 */
export function recordedTree(): ReplicaTree {
  const seriesText = readFileSync(new URL('series/all.json', FIXTURES), 'utf8');
  const seasonsTexts = readFolder('seasons');
  const calendarTexts = readFolder('calendar');
  const classificationTexts = readFolder('classification');

  const seriesUuids = new Set((JSON.parse(seriesText) as SeriesItem[]).map((s) => s.uuid));
  const seasonItems = new Map<string, SeasonItem>();
  for (const text of seasonsTexts.values()) {
    for (const season of JSON.parse(text) as SeasonItem[]) seasonItems.set(season.uuid, season);
  }
  const sessionsWithResults = new Set<string>();
  for (const text of calendarTexts.values()) {
    for (const event of (JSON.parse(text) as Calendar).events) {
      for (const session of event.sessions) {
        if (session.hasResults === true) sessionsWithResults.add(session.uuid);
      }
    }
  }

  const emptyCalendar = ({ name, uuid, year, endYear }: SeasonItem): string =>
    JSON.stringify({ season: { name, uuid, year, endYear }, events: [] } satisfies Calendar);
  const emptyClassification = JSON.stringify({ details: [], retirements: [] } satisfies Classification);

  return withMutations((path) => {
    const route = routeOf(path);
    switch (route?.endpoint) {
      case undefined:
        return undefined;
      case 'series':
        return seriesText;
      case 'seasons':
        return seasonsTexts.get(route.uuid) ?? (seriesUuids.has(route.uuid) ? '[]' : undefined);
      case 'calendar': {
        const season = seasonItems.get(route.uuid);
        return calendarTexts.get(route.uuid) ?? (season && emptyCalendar(season));
      }
      case 'classification':
        return (
          classificationTexts.get(route.uuid) ?? (sessionsWithResults.has(route.uuid) ? emptyClassification : undefined)
        );
    }
  });
}
