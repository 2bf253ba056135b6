import { COUNTRIES, FIRST_NAMES, LAST_NAMES, SERIES_NAMES, TEAM_NAMES, VENUES, type SeriesName } from './names.js';
import { classify, type Car, type Roster } from './results.js';
import { Rng, uuidFor } from './seeded.js';
import { routeOf, withMutations, type ReplicaTree } from './tree.js';
import type {
  Calendar,
  CalendarEvent,
  Classification,
  Country,
  Driver,
  SeasonItem,
  SeriesItem,
  Session,
  Team,
  Venue,
} from './types.js';
import { nth, range } from './util.js';

export interface SyntheticOptions {
  seed: number;
  series: number;
  seasonsPerSeries: number;
  eventsPerSeason: number;
  sessionsPerEvent: number;
  carsPerSession: number;
  /** Drivers per car, 1–4. Above 1, about one car in ten lists one fewer, as endurance entries do. */
  driversPerCar: number;
  /** Year of every series' newest season; older seasons count down from it. */
  latestYear: number;
  /** Share of classifications in which one driver is entered in two cars (seen upstream). */
  sharedDriverRate: number;
  /**
   * Epoch ms: when set, every series' newest season is current around that instant, for freshness
   * tests. Its events start from 8 weeks before it to 2 weeks after it, evenly spread (with four
   * events: 56, 33 and 10 days before, 14 days after); those not started by then have no results
   * yet. Its year becomes `latestYear`'s default.
   */
  currentAround?: number;
}

export const SYNTHETIC_DEFAULTS: Readonly<SyntheticOptions> = {
  seed: 1,
  series: 3,
  seasonsPerSeries: 3,
  eventsPerSeason: 4,
  sessionsPerEvent: 3,
  carsPerSession: 20,
  driversPerCar: 1,
  latestYear: 2025,
  sharedDriverRate: 0.1,
};

/**
 * A deterministic tree shaped like the recorded one. Same options, same bytes for every path.
 *
 * Payloads are generated on request from (seed, position in the tree): only an index from uuid to
 * position and small pools (drivers, teams, car numbers) are kept, so trees of tens of thousands
 * of sessions cost little until their paths are fetched.
 *
 * Quirks of the real data that every tree with enough of the relevant entities carries:
 * season statuses `Current`/`Historic`/`""` by series (index mod 3: marked; all blank; current
 * left blank); the last event of series 0's second season `Cancelled` with null dates; the last
 * quarter of each current season's events not run yet (`hasResults: false`); U+FFFD in names
 * (series 2, venue 1, some drivers); in every session the first team's second car shown under
 * the team's alias with the same uuid; the last car numbered like the first with leading zeros ("7" and
 * "007"); a retirement in every race (last session of an event). Other quirks (null short names and times,
 * cancelled or postponed events, shared drivers, shorter endurance line-ups) are sprinkled by the seed.
 */
export function syntheticTree(options: Partial<SyntheticOptions> = {}): ReplicaTree {
  const around = options.currentAround;
  const latestYear =
    options.latestYear ?? (around === undefined ? SYNTHETIC_DEFAULTS.latestYear : new Date(around).getUTCFullYear());
  const generator = new Generator({ ...SYNTHETIC_DEFAULTS, ...options, latestYear });
  return withMutations((path) => generator.body(path));
}

type Ref =
  | { kind: 'series'; i: number }
  | { kind: 'season'; i: number; j: number }
  | { kind: 'session'; i: number; j: number; k: number; l: number };

interface EventPlan {
  venue: number;
  cancelled: boolean;
  postponed: boolean;
  /** Still to be run: scheduled, without results. */
  future: boolean;
  startDate: number;
  shortNameNull: boolean;
}

const DAY = 86_400;
const HOUR = 3_600;

/** Table entries cycle when a tree needs more than the table holds; later rounds get a number. */
function cycled(base: string, round: number): string {
  return round === 0 ? base : `${base} ${round + 1}`;
}

const colour = (rng: Rng): string => `#${rng.int(0, 0xffffff).toString(16).padStart(6, '0').toUpperCase()}`;

function validate(o: SyntheticOptions): void {
  const counts = ['seed', 'series', 'seasonsPerSeries', 'eventsPerSeason', 'sessionsPerEvent', 'latestYear'] as const;
  for (const key of counts) {
    if (!Number.isSafeInteger(o[key]) || (key !== 'seed' && o[key] < 0)) {
      throw new RangeError(`synthetic option ${key} must be a non-negative integer, got ${o[key]}`);
    }
  }
  if (!Number.isSafeInteger(o.carsPerSession) || o.carsPerSession < 1) {
    throw new RangeError(`carsPerSession must be a positive integer, got ${o.carsPerSession}`);
  }
  if (!Number.isInteger(o.driversPerCar) || o.driversPerCar < 1 || o.driversPerCar > 4) {
    throw new RangeError(`driversPerCar must be 1 to 4, got ${o.driversPerCar}`);
  }
  if (!(o.sharedDriverRate >= 0 && o.sharedDriverRate <= 1)) {
    throw new RangeError(`sharedDriverRate must be within [0, 1], got ${o.sharedDriverRate}`);
  }
}

class Generator {
  readonly #o: SyntheticOptions;
  readonly #index = new Map<string, Ref>();
  readonly #drivers = new Map<number, { driver: Driver; country: number }>();
  readonly #teams = new Map<string, Team>();
  readonly #countries = new Map<number, Country>();
  readonly #carNumbers = new Map<number, string[]>();
  readonly #roster: Roster = {
    driver: (d) => this.#driver(d),
    team: (g, alias) => this.#team(g, alias),
    country: (c) => this.#country(c),
  };

  constructor(options: SyntheticOptions) {
    validate(options);
    this.#o = options;
    const { series, seasonsPerSeries, eventsPerSeason, sessionsPerEvent } = options;
    for (let i = 0; i < series; i++) {
      this.#index.set(this.#uuid(`series:${i}`), { kind: 'series', i });
      for (let j = 0; j < seasonsPerSeries; j++) {
        this.#index.set(this.#uuid(`season:${i}:${j}`), { kind: 'season', i, j });
        for (let k = 0; k < eventsPerSeason; k++) {
          for (let l = 0; l < sessionsPerEvent; l++) {
            this.#index.set(this.#uuid(`session:${i}:${j}:${k}:${l}`), { kind: 'session', i, j, k, l });
          }
        }
      }
    }
  }

  body(path: string): string | undefined {
    const route = routeOf(path);
    if (route === undefined) return undefined;
    if (route.endpoint === 'series') return JSON.stringify(this.#seriesList());
    const ref = this.#index.get(route.uuid);
    if (route.endpoint === 'seasons' && ref?.kind === 'series') {
      return JSON.stringify(range(this.#o.seasonsPerSeries).map((j) => this.#season(ref.i, j)));
    }
    if (route.endpoint === 'calendar' && ref?.kind === 'season') {
      return JSON.stringify(this.#calendar(ref.i, ref.j));
    }
    if (route.endpoint === 'classification' && ref?.kind === 'session') {
      const { i, j, k, l } = ref;
      // Like the recorded tree, a session without results has no classification to serve.
      if (this.#session(i, j, k, l, this.#eventPlan(i, j, k)).hasResults !== true) return undefined;
      return JSON.stringify(this.#classification(i, j, k, l));
    }
    return undefined;
  }

  #uuid(key: string): string {
    return uuidFor(this.#o.seed, key);
  }

  #rng(key: string): Rng {
    return new Rng(this.#o.seed, key);
  }

  #seriesName(i: number): { entry: SeriesName; round: number } {
    return { entry: nth(SERIES_NAMES, i % SERIES_NAMES.length), round: Math.floor(i / SERIES_NAMES.length) };
  }

  #seriesList(): SeriesItem[] {
    const items = range(this.#o.series).map((i): SeriesItem => {
      const { entry, round } = this.#seriesName(i);
      return {
        name: cycled(entry.name, round),
        uuid: this.#uuid(`series:${i}`),
        shortName: entry.shortName === null ? null : cycled(entry.shortName, round),
        shortCode: round === 0 ? entry.shortCode : `${entry.shortCode}${round + 1}`,
        category: entry.category,
      };
    });
    // The API lists series by name; a plain comparison keeps the order locale-independent.
    return items.sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : 1));
  }

  #season(i: number, j: number): SeasonItem {
    const { entry, round } = this.#seriesName(i);
    const year = this.#o.latestYear - j;
    const endYear = entry.winter ? year + 1 : year;
    const label = entry.winter ? `${year}-${String(endYear).slice(-2)}` : String(year);
    // Status is free text upstream: some series mark seasons, some leave all blank, some leave
    // only the current one blank.
    const status = [j === 0 ? 'Current' : 'Historic', '', j === 0 ? '' : 'Historic'][i % 3] ?? '';
    return {
      name: `${cycled(entry.name, round)} ${label}`,
      uuid: this.#uuid(`season:${i}:${j}`),
      year,
      endYear,
      status,
    };
  }

  #calendar(i: number, j: number): Calendar {
    const { name, uuid, year, endYear } = this.#season(i, j);
    return {
      season: { name, uuid, year, endYear },
      events: range(this.#o.eventsPerSeason).map((k) => this.#event(i, j, k)),
    };
  }

  #eventPlan(i: number, j: number, k: number): EventPlan {
    const { seasonsPerSeries, eventsPerSeason, latestYear } = this.#o;
    const rng = this.#rng(`event:${i}:${j}:${k}`);
    const randomCancel = rng.chance(0.03);
    const randomPostpone = rng.chance(0.02);
    const shortNameNull = rng.chance(0.04);
    const jitter = rng.int(0, 3);
    const cancelled = randomCancel || (i === 0 && j === Math.min(1, seasonsPerSeries - 1) && k === eventsPerSeason - 1);
    const dayOfYear = 40 + Math.floor((k * 280) / eventsPerSeason) + jitter;
    const around = this.#o.currentAround;
    if (around !== undefined && j === 0) {
      // A current season around the instant: days from -56 to +14, midnight of the local day.
      const today = Math.floor(around / 1000 / DAY) * DAY;
      const offset = eventsPerSeason > 1 ? Math.floor(-56 + (k * 70) / (eventsPerSeason - 1)) : -56;
      const startDate = today + offset * DAY;
      return {
        venue: (i * 5 + k) % VENUES.length,
        cancelled: false,
        postponed: false,
        future: startDate * 1000 > around,
        startDate,
        shortNameNull,
      };
    }
    return {
      venue: (i * 5 + k) % VENUES.length,
      cancelled,
      postponed: !cancelled && randomPostpone,
      future: j === 0 && k >= eventsPerSeason - Math.ceil(eventsPerSeason / 4),
      startDate: Date.UTC(latestYear - j, 0, 1) / 1000 + dayOfYear * DAY,
      shortNameNull,
    };
  }

  #event(i: number, j: number, k: number): CalendarEvent {
    const plan = this.#eventPlan(i, j, k);
    const venue = nth(VENUES, plan.venue);
    const dated = !plan.cancelled;
    // startDate/endDate are local midnights written as UTC; the *Utc fields are the real instants.
    return {
      uuid: this.#uuid(`event:${i}:${j}:${k}`),
      name: cycled(venue.event, Math.floor(k / VENUES.length)),
      shortName: plan.shortNameNull ? null : venue.eventShort,
      shortCode: venue.shortCode,
      status: plan.cancelled ? 'Cancelled' : plan.postponed ? 'Postponed' : '',
      startDate: dated ? plan.startDate : null,
      startTimeUtc: dated ? plan.startDate - venue.tz * HOUR : null,
      endDate: dated ? plan.startDate + 2 * DAY : null,
      endTimeUtc: dated ? plan.startDate + 3 * DAY - venue.tz * HOUR : null,
      venue: this.#venue(plan.venue),
      country: this.#country(venue.country),
      sessions: range(this.#o.sessionsPerEvent).map((l) => this.#session(i, j, k, l, plan)),
    };
  }

  #venue(v: number): Venue {
    const venue = nth(VENUES, v);
    return {
      name: venue.name,
      uuid: this.#uuid(`venue:${v}`),
      shortName: venue.shortName,
      shortCode: venue.shortCode,
      picture: v % 3 === 2 ? null : `https://assets.motorsportstats.com/circuit/30px/circuit_${venue.shortCode}.svg`,
    };
  }

  #country(c: number): Country {
    const cached = this.#countries.get(c);
    if (cached) return cached;
    const country = nth(COUNTRIES, c);
    const made = {
      name: country.name,
      uuid: this.#uuid(`country:${c}`),
      picture: `https://assets.motorsportstats.com/flags/svg/${country.iso}.svg`,
    };
    this.#countries.set(c, made);
    return made;
  }

  /** Practice sessions first, then qualifying, the race last. */
  #sessionName(l: number): { name: string; code: string } {
    const n = this.#o.sessionsPerEvent;
    if (l === n - 1) return { name: 'Race', code: 'R' };
    if (l === n - 2) return { name: 'Qualifying', code: 'Q' };
    return { name: `Practice ${l + 1}`, code: `P${l + 1}` };
  }

  #session(i: number, j: number, k: number, l: number, plan: EventPlan): Session {
    const rng = this.#rng(`session:${i}:${j}:${k}:${l}`);
    const shortNull = rng.chance(0.03);
    const cancelled = rng.chance(0.01);
    const noResultsPractice = rng.chance(0.08);
    const noEnd = rng.chance(0.25);
    const minute = rng.int(0, 3) * 15;
    const minutes = rng.int(4, 8) * 15;
    const { name, code } = this.#sessionName(l);
    const tz = nth(VENUES, plan.venue).tz;
    const day = Math.min(2, Math.floor((l * 3) / this.#o.sessionsPerEvent));
    // startTime is the local wall clock written as if it were UTC, as upstream serves it.
    const start = plan.cancelled ? null : plan.startDate + day * DAY + (10 + (l % 3) * 2) * HOUR + minute * 60;
    const end = start === null || noEnd || plan.future ? null : start + minutes * 60;
    return {
      uuid: this.#uuid(`session:${i}:${j}:${k}:${l}`),
      name,
      shortName: shortNull ? null : name,
      shortCode: shortNull ? null : code,
      status: cancelled ? 'Cancelled' : '',
      hasResults: !(
        plan.cancelled ||
        plan.postponed ||
        plan.future ||
        cancelled ||
        (code.startsWith('P') && noResultsPractice)
      ),
      startTime: start,
      startTimeUtc: start === null ? null : start - tz * HOUR,
      endTime: end,
      endTimeUtc: end === null ? null : end - tz * HOUR,
    };
  }

  #driver(d: number): { driver: Driver; country: number } {
    const cached = this.#drivers.get(d);
    if (cached) return cached;
    const rng = this.#rng(`driver:${d}`);
    const firstName = nth(FIRST_NAMES, d % FIRST_NAMES.length);
    // Walks last names diagonally so neighbours differ; (first, last) pairs stay unique because
    // FIRST_NAMES.length + 1 and LAST_NAMES.length are coprime.
    const lastName = cycled(
      nth(LAST_NAMES, (d + Math.floor(d / FIRST_NAMES.length)) % LAST_NAMES.length),
      Math.floor(d / (FIRST_NAMES.length * LAST_NAMES.length)),
    );
    const uuid = this.#uuid(`driver:${d}`);
    const hasColour = rng.chance(0.03);
    const hasPicture = rng.chance(0.65);
    const driverColour = colour(rng);
    const made = {
      driver: {
        name: `${firstName} ${lastName}`,
        firstName,
        lastName,
        shortCode: lastName
          .replace(/[^A-Za-z]/g, '')
          .slice(0, 3)
          .toUpperCase(),
        colour: hasColour ? driverColour : null,
        uuid,
        picture: hasPicture
          ? `https://content.motorsportstats.com/medium/driverProfilePicture/driverProfilePicture-${uuid}.jpg`
          : null,
      },
      country: rng.int(0, COUNTRIES.length - 1),
    };
    this.#drivers.set(d, made);
    return made;
  }

  #team(g: number, alias: boolean): Team {
    const key = `${g}:${alias}`;
    const cached = this.#teams.get(key);
    if (cached) return cached;
    const rng = this.#rng(`team:${g}`);
    const main = colour(rng);
    const aliasColour = rng.chance(0.5) ? main : colour(rng);
    const names = nth(TEAM_NAMES, g % TEAM_NAMES.length);
    const round = Math.floor(g / TEAM_NAMES.length);
    const hex = (alias ? aliasColour : main).slice(1);
    const team: Team = {
      name: cycled(alias ? names.alias : names.name, round),
      uuid: this.#uuid(`team:${g}`),
      colour: `#${hex}`,
      picture: `https://assets.motorsportstats.com/team/icon/teamColour_${hex}.svg`,
      carIcon: `https://assets.motorsportstats.com/carIcon/Default/caricon_RaceCar_${hex}.svg`,
    };
    this.#teams.set(key, team);
    return team;
  }

  /** A series keeps its car numbers across seasons; the last one echoes the first ("7", "007"). */
  #carNumbersOf(i: number): string[] {
    const cached = this.#carNumbers.get(i);
    if (cached) return cached;
    const cars = this.#o.carsPerSession;
    const pool = range(Math.max(99, cars)).map((n) => n + 1);
    const numbers = this.#rng(`cars:${i}`).shuffle(pool).slice(0, cars).map(String);
    if (cars >= 3) numbers[cars - 1] = `0${nth(numbers, 0).padStart(2, '0')}`;
    this.#carNumbers.set(i, numbers);
    return numbers;
  }

  /**
   * Who drives which car in a season. Drivers come from a per-series pool that overlaps the next
   * series' pool by half and rotates a little each season, so drivers repeat across sessions,
   * seasons and series. Within a season no driver is in two cars.
   */
  #lineup(i: number, j: number): Car[] {
    const { carsPerSession: cars, driversPerCar: perCar } = this.#o;
    const rng = this.#rng(`lineup:${i}:${j}`);
    const pool = 2 * cars * perCar;
    const rotation = Math.max(1, Math.floor((cars * perCar) / 5));
    const numbers = this.#carNumbersOf(i);
    return range(cars).map((c) => {
      const count = perCar > 1 && rng.chance(0.1) ? perCar - 1 : perCar;
      return {
        number: nth(numbers, c),
        drivers: range(count).map((s) => i * cars * perCar + ((c * perCar + s + j * rotation) % pool)),
        team: i * 2 + Math.floor(c / 2),
        alias: c === 1,
      };
    });
  }

  #classification(i: number, j: number, k: number, l: number): Classification {
    const rng = this.#rng(`classification:${i}:${j}:${k}:${l}`);
    const race = l === this.#o.sessionsPerEvent - 1;
    const cars = this.#lineup(i, j);
    const first = nth(cars, 0);
    const last = nth(cars, cars.length - 1);
    if (first !== last && rng.chance(this.#o.sharedDriverRate)) {
      last.drivers[0] = nth(first.drivers, 0);
    }
    return classify(rng, cars, race, this.#roster);
  }
}
